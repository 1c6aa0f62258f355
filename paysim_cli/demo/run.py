"""`paysim demo` as a service: local stack up, schema migrated, pipeline workers started, a simulate
run sent through them, drained, then reconciled against its manifest and summarised.

The demo measures its own run: events older runs left in the hub are drained first and reported
apart (`backlog`), and the run's lag counts only events after the hub's ends when the run began.
With `--faults` the host runs as a child process that the faults can kill (demo/faulted.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from paysim_cli.demo.report import Backlog, DemoReport
from paysim_cli.demo.request import DemoRequest
from paysim_cli.demo.stages import (
    NO_LATENCY,
    PipelineFigures,
    demo_report,
    prepare,
    require_local,
    simulation_request,
    stop_if_interrupted,
)
from paysim_cli.faults.monitor import Positions, hub_ends, position_reader, run_lag, total_lag
from paysim_cli.interrupts import Interruption, stop_on_signals
from paysim_cli.pipeline.host import PipelineHost
from paysim_cli.pipeline.report import HostProgress, HostStatus
from paysim_cli.pipeline.request import PipelineRequest
from paysim_cli.settings import Settings
from paysim_cli.simulator.progress import RunProgress
from paysim_cli.simulator.simulation import SimulationReport, run_simulation

# After Ctrl-C stops the simulation, how long the demo still lets the pipeline catch up before it reports.
DRAIN_AFTER_INTERRUPT_SECONDS = 10.0


def run_demo(
    settings: Settings,
    request: DemoRequest,
    *,
    on_stage: Callable[[str], None] = lambda stage: None,
    on_simulate: Callable[[RunProgress], None] | None = None,
    on_pipeline: Callable[[HostProgress], None] | None = None,
) -> DemoReport:
    """Everything `make demo` shows; reconciliation differences are in the report, not raised.

    SIGINT or SIGTERM stops sending; the pipeline then gets a short while to catch up, and the report
    says the run was interrupted. A second signal stops at once.
    """
    require_local(settings)
    if request.faults is not None:
        from paysim_cli.demo.faulted import run_faulted_demo

        return run_faulted_demo(settings, request, on_stage=on_stage, on_simulate=on_simulate)
    with stop_on_signals(Interruption()) as interruption:
        settings = prepare(settings, on_stage, interruption)
        older = _waiting_events(settings, request)  # before any worker can take one of them
        on_stage(f"starting {request.workers} pipeline workers")
        pipeline_request = PipelineRequest(workers=request.workers, source=request.transport)
        with PipelineHost(settings, pipeline_request) as host:
            host.wait_ready()
            backlog = _drain_backlog(host, older, request, on_stage, on_pipeline, interruption)
            stop_if_interrupted(interruption)
            lag = RunLag(_positions(host.poll(0)))
            simulation = _simulate(settings, request, host, lag, on_stage, on_simulate, interruption)
            on_stage("draining the pipeline")
            sent_at = time.monotonic()
            status = _drain(host, request, lag.watching(on_pipeline), interruption)
            # Until the partitions caught up for good, not the grace period that confirmed it.
            drain_seconds = max(0.0, (host.caught_up_since or time.monotonic()) - sent_at)
            pipeline = host.stop(status, interruption.signal_name)
    on_stage(f"reconciling run {simulation.run_id}")
    from paysim_cli.reconcile.verify import verify_run

    reconciliation = verify_run(settings, simulation.run_id)
    run = next((run for run in pipeline.runs if run.run_id == simulation.run_id), None)
    figures = PipelineFigures(
        status=status,
        throughput=pipeline.throughput,
        drain_seconds=drain_seconds,
        max_lag=lag.max_lag,
        latency_ms=run.latency_ms if run is not None else NO_LATENCY,
        latency_events=run.events if run is not None else 0,
        backlog=backlog,
    )
    return demo_report(
        settings, request, simulation, reconciliation, figures, interrupted_by=interruption.signal_name
    )


class RunLag:
    """The run's own lag, from the host's progress: events after the hub's ends at the run's start."""

    def __init__(self, start: Positions) -> None:
        self.start = hub_ends(start)
        self.max_lag = 0

    def see(self, progress: HostProgress) -> None:
        self.max_lag = max(self.max_lag, run_lag(_positions(progress), self.start))

    def watching(self, on_pipeline: Callable[[HostProgress], None] | None) -> Callable[[HostProgress], None]:
        def watch(progress: HostProgress) -> None:
            self.see(progress)
            if on_pipeline is not None:
                on_pipeline(progress)

        return watch


def _positions(progress: HostProgress) -> Positions:
    return {
        item.partition_id: (item.last_enqueued_sequence_number, item.checkpoint_sequence_number)
        for item in progress.partitions
    }


def _waiting_events(settings: Settings, request: DemoRequest) -> int:
    """Events in the hub the demo's consumer group has not committed yet: older runs' leftovers."""
    read, close = position_reader(settings, request.transport)
    try:
        return total_lag(read())
    finally:
        close()


def _drain_backlog(
    host: PipelineHost,
    events: int,
    request: DemoRequest,
    on_stage: Callable[[str], None],
    on_pipeline: Callable[[HostProgress], None] | None,
    interruption: Interruption,
) -> Backlog:
    """Events an earlier run left in the hub would queue ahead of this run's and skew it: committed
    first (within the backlog timeout), and measured apart."""
    if events == 0:
        return Backlog(events=0, seconds=0.0, status="none")
    on_stage(f"draining {events:,} older events first (not part of this run)")
    began = time.monotonic()
    status = host.run_until(
        until_drained=True,
        should_stop=interruption.is_set,
        on_progress=on_pipeline,
        timeout=request.backlog_timeout,
    )
    return Backlog(
        events=events,
        seconds=round((host.caught_up_since or time.monotonic()) - began, 3),
        status=status,
        remaining=host.poll(0).lag,
    )


def _simulate(
    settings: Settings,
    request: DemoRequest,
    host: PipelineHost,
    lag: RunLag,
    on_stage: Callable[[str], None],
    on_simulate: Callable[[RunProgress], None] | None,
    interruption: Interruption,
) -> SimulationReport:
    on_stage(f"simulating {request.rate:,.0f} events/s for {request.duration:,.0f} s ({request.profile})")

    def simulating(progress: RunProgress) -> None:
        lag.see(host.poll(0))  # keep up with the workers' reports, and sample the lag under load
        if on_simulate is not None:
            on_simulate(progress)

    return run_simulation(
        settings, simulation_request(request), on_progress=simulating, interruption=interruption
    )


def _drain(
    host: PipelineHost,
    request: DemoRequest,
    on_pipeline: Callable[[HostProgress], None],
    interruption: Interruption,
) -> HostStatus:
    """Until every partition caught up. After an interrupted simulation, a short while only, so what
    was sent still reconciles; a signal while draining stops the drain."""
    if interruption.is_set():
        return host.run_until(
            until_drained=True,
            should_stop=lambda: False,  # a second signal raises Interrupted
            on_progress=on_pipeline,
            timeout=min(request.drain_timeout, DRAIN_AFTER_INTERRUPT_SECONDS),
        )
    return host.run_until(
        until_drained=True,
        should_stop=interruption.is_set,
        on_progress=on_pipeline,
        timeout=request.drain_timeout,
    )

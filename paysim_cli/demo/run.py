"""`paysim demo` as a service: local stack up, schema migrated, pipeline workers started, a simulate
run sent through them, drained, then reconciled against its manifest and summarised."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel

from paysim_cli.demo.request import DemoRequest
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.interrupts import Interrupted, Interruption, stop_on_signals
from paysim_cli.latency import LatencySummary
from paysim_cli.metrics.show import MetricsReport, latest_metrics
from paysim_cli.pipeline.host import HostProgress, HostStatus, PipelineHost
from paysim_cli.pipeline.request import PipelineRequest
from paysim_cli.reconcile.verify import ReconciliationReport, verify_run
from paysim_cli.settings import Settings
from paysim_cli.simulator.progress import RunProgress
from paysim_cli.simulator.request import SimulationRequest
from paysim_cli.simulator.simulation import SimulationReport, run_simulation

TOP_WINDOWS = 5
TOP_DYNAMIC = 1
NO_LATENCY = LatencySummary(p50=0.0, p95=0.0, p99=0.0, max=0.0)
# After Ctrl-C stops the simulation, how long the demo still lets the pipeline catch up before it reports.
DRAIN_AFTER_INTERRUPT_SECONDS = 10.0


class DemoReport(BaseModel):
    """The run from both ends: what was sent, what the pipeline made of it, how fast and how late."""

    run_id: str
    transport: HubTarget
    profile: str
    seed: int
    target_rate: float
    achieved_rate: float  # events/s the simulator delivered
    sent: int
    processed: int
    failed: int
    duplicates_dropped: int
    throughput: float  # events/s the pipeline took in, first batch to last commit
    pipeline: HostStatus
    drain_seconds: float  # from the end of the simulation until every partition was caught up
    max_lag: int
    latency_ms: LatencySummary  # intended send time -> commit, this run's events
    reconciliation: ReconciliationReport
    top_metrics: MetricsReport
    interrupted_by: str | None = None  # SIGINT or SIGTERM when a signal cut the run short


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
    if not settings.is_local:
        raise PaysimError(
            "demo_needs_local",
            f"paysim demo runs on the embedded local stack, not on environment {settings.env}",
            "drop --env (or use --env local)",
            exit_code=ExitCode.CONFIG,
        )
    with stop_on_signals(Interruption()) as interruption:
        settings = _prepare(settings, on_stage, interruption)
        on_stage(f"starting {request.workers} pipeline workers")
        pipeline_request = PipelineRequest(workers=request.workers, source=request.transport)
        with PipelineHost(settings, pipeline_request) as host:
            host.wait_ready()
            # Events already in the hub (an earlier run's) would queue ahead of this run's and skew it.
            host.run_until(until_drained=True, should_stop=interruption.is_set, timeout=request.drain_timeout)
            _stop_if_interrupted(interruption)
            simulation = _simulate(settings, request, host, on_stage, on_simulate, interruption)
            on_stage("draining the pipeline")
            sent_at = time.monotonic()
            status = _drain(host, request, on_pipeline, interruption)
            # Until the partitions caught up for good, not the grace period that confirmed it.
            drain_seconds = max(0.0, (host.caught_up_since or time.monotonic()) - sent_at)
            pipeline = host.stop(status, interruption.signal_name)
    on_stage(f"reconciling run {simulation.run_id}")
    reconciliation = verify_run(settings, simulation.run_id)
    latency = next((run.latency_ms for run in pipeline.runs if run.run_id == simulation.run_id), NO_LATENCY)
    return DemoReport(
        run_id=simulation.run_id,
        transport=request.transport,
        profile=simulation.profile,
        seed=simulation.seed,
        target_rate=simulation.target_rate,
        achieved_rate=simulation.achieved_rate,
        sent=simulation.sent,
        processed=reconciliation.processed,
        failed=reconciliation.failed,
        duplicates_dropped=reconciliation.duplicates_dropped,
        throughput=pipeline.throughput,
        pipeline=status,
        drain_seconds=round(drain_seconds, 3),
        max_lag=pipeline.max_lag,
        latency_ms=latency,
        reconciliation=reconciliation,
        top_metrics=latest_metrics(settings, limit=TOP_WINDOWS, top=TOP_DYNAMIC),
        interrupted_by=interruption.signal_name,
    )


def _prepare(settings: Settings, on_stage: Callable[[str], None], interruption: Interruption) -> Settings:
    """The local stack up and its database migrated; the settings with what the stack provides."""
    from paysim_cli import migrations
    from paysim_cli.local import stack

    on_stage("starting the local stack")
    stack.up(settings)
    settings = _with_stack(settings)
    _stop_if_interrupted(interruption)
    on_stage("migrating the database")
    migrations.upgrade(settings)
    _stop_if_interrupted(interruption)
    return settings


def _stop_if_interrupted(interruption: Interruption) -> None:
    """Before the run starts there is nothing to report: a signal just ends the demo."""
    if interruption.signum is not None:
        raise Interrupted(interruption.signum)


def _simulate(
    settings: Settings,
    request: DemoRequest,
    host: PipelineHost,
    on_stage: Callable[[str], None],
    on_simulate: Callable[[RunProgress], None] | None,
    interruption: Interruption,
) -> SimulationReport:
    on_stage(f"simulating {request.rate:,.0f} events/s for {request.duration:,.0f} s ({request.profile})")

    def simulating(progress: RunProgress) -> None:
        host.poll(0)  # keep up with the workers' reports, and sample the lag under load
        if on_simulate is not None:
            on_simulate(progress)

    return run_simulation(
        settings,
        SimulationRequest(
            profile=request.profile,
            rate=request.rate,
            duration=request.duration,
            seed=request.seed,
            transport=request.transport,
        ),
        on_progress=simulating,
        interruption=interruption,
    )


def _drain(
    host: PipelineHost,
    request: DemoRequest,
    on_pipeline: Callable[[HostProgress], None] | None,
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


def _with_stack(settings: Settings) -> Settings:
    """The settings with what the stack just started provides, where nothing else set them."""
    from paysim_cli.local.state import local_stack_settings

    provided = {
        name: value
        for name, value in local_stack_settings(settings.state_dir).items()
        if settings.sources.get(name, "default") in ("default", "local stack")
    }
    return settings.override("local stack", **provided)

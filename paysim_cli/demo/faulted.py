"""`paysim demo --faults SPEC`: the demo's run with real faults struck on a schedule, then drained,
reconciled (totals and archive, repaired where a killed Azurite lost blobs) and judged.

The host runs as a child process (`paysim pipeline run`) so that a fault can kill -9 it; a thread
samples the consumer group's checkpoints from outside to time each recovery and the longest stall.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from paysim_cli.demo.report import STALL_LIMIT_SECONDS, ArchiveRepair, Backlog, DemoReport, FaultsReport
from paysim_cli.demo.request import DemoRequest
from paysim_cli.demo.stages import (
    PipelineFigures,
    demo_report,
    prepare,
    simulation_request,
    stop_if_interrupted,
)
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.faults.campaign import RECOVERY_TIMEOUT_SECONDS, FaultCampaign
from paysim_cli.faults.host_process import HostProcess
from paysim_cli.faults.injectors import FaultTarget, unisolated_poison
from paysim_cli.faults.monitor import Positions, ProgressMonitor, hub_ends, position_reader, total_lag
from paysim_cli.faults.schedule import ScheduledFault, schedule_faults
from paysim_cli.faults.spec import FaultKind, FaultSpec
from paysim_cli.interrupts import Interruption, stop_on_signals
from paysim_cli.latency import LatencySummary
from paysim_cli.pipeline.report import HostStatus
from paysim_cli.reconcile.verify import ReconciliationReport, verify_run
from paysim_cli.settings import Settings
from paysim_cli.simulator.progress import RunProgress
from paysim_cli.simulator.simulation import SimulationReport, run_simulation

READY_TIMEOUT_SECONDS = 120.0
DRAIN_GRACE_SECONDS = 1.0
DRAIN_AFTER_INTERRUPT_SECONDS = 10.0


class _Watch:
    """What the faulted run measured while it ran, for the report."""

    def __init__(self, schedule: list[ScheduledFault], host: HostProcess) -> None:
        self.schedule, self.host = schedule, host
        self.backlog = Backlog(events=0, seconds=0.0, status="none")
        self.campaign: FaultCampaign | None = None
        self.campaign_began_at = datetime.now(UTC)  # wall clock: the campaign's times are monotonic
        self.monitor: ProgressMonitor | None = None
        self.status: HostStatus = "timed_out"
        self.drain_seconds = 0.0
        self.host_report: dict[str, Any] = {}
        self.problems: list[str] = []
        self.target: FaultTarget | None = None


def run_faulted_demo(
    settings: Settings,
    request: DemoRequest,
    *,
    on_stage: Callable[[str], None],
    on_simulate: Callable[[RunProgress], None] | None,
) -> DemoReport:
    """The demo with `request.faults` struck during its run; the verdict is in the report."""
    spec = request.faults
    assert spec is not None
    with stop_on_signals(Interruption()) as interruption:
        settings = prepare(settings, on_stage, interruption)
        log_dir = settings.state_dir / "demo" / f"faults-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        host = HostProcess(settings, workers=request.workers, transport=request.transport, log_dir=log_dir)
        watch = _Watch(schedule_faults(spec, request.duration, _schedule_seed(request)), host)
        read, close_reader = position_reader(settings, request.transport)
        try:
            simulation = _faulted_run(settings, request, watch, read, on_stage, on_simulate, interruption)
        finally:
            if watch.monitor is not None:
                watch.monitor.close()
            host.close()
            close_reader()
    _record_faults(settings, simulation.run_id, spec, watch)
    reconciliation, repair = _reconcile(settings, simulation.run_id, spec, on_stage)
    poisoned = unisolated_poison(settings, watch.target.poison_ids if watch.target is not None else [])
    watch.problems += [f"the poison event {item} is not one failed item" for item in poisoned]
    return demo_report(
        settings,
        request,
        simulation,
        reconciliation,
        _figures(watch, reconciliation, simulation.run_id),
        faults=_faults_report(spec, watch, repair, interruption.signal_name),
        interrupted_by=interruption.signal_name,
    )


def _faulted_run(
    settings: Settings,
    request: DemoRequest,
    watch: _Watch,
    read: Callable[[], Positions],
    on_stage: Callable[[str], None],
    on_simulate: Callable[[RunProgress], None] | None,
    interruption: Interruption,
) -> SimulationReport:
    """Host up, backlog drained, the run sent while the faults strike, then drained; the host stopped."""
    on_stage(f"starting the pipeline host ({request.workers} workers) as a process the faults can kill")
    watch.host.start()
    _wait_ready(watch.host)
    watch.backlog, start = _drain_backlog(read, request, on_stage, interruption)
    stop_if_interrupted(interruption)
    watch.monitor = ProgressMonitor(read, start)
    watch.target = FaultTarget(settings, request.transport, watch.host)
    watch.campaign = FaultCampaign(watch.schedule, watch.target, watch.monitor)
    on_stage(
        f"simulating {request.rate:,.0f} events/s for {request.duration:,.0f} s ({request.profile}) "
        f"while {len(watch.schedule)} faults strike"
    )
    watch.campaign_began_at = datetime.now(UTC)
    watch.campaign.start()
    try:
        simulation = run_simulation(
            settings, simulation_request(request), on_progress=on_simulate, interruption=interruption
        )
    finally:
        if interruption.is_set():
            watch.campaign.stop()
    sent_at = time.monotonic()
    on_stage("waiting for the last faults' recovery, then draining the pipeline")
    if not watch.campaign.join(timeout=RECOVERY_TIMEOUT_SECONDS * max(1, len(watch.schedule))):
        watch.problems.append("the faults were still being struck when the demo gave up on them")
    watch.status, caught_up_at = _drain(watch, request, interruption)
    watch.drain_seconds = max(0.0, (caught_up_at or time.monotonic()) - sent_at)
    watch.monitor.close()
    if watch.host.alive():
        watch.host_report = watch.host.stop()
    return simulation


def _wait_ready(host: HostProcess) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not host.all_ready():
        if not host.alive() or time.monotonic() >= deadline:
            raise PaysimError(
                "worker_not_ready",
                f"the pipeline host did not get its {host.workers} workers ready",
                f"see its log in {host.log_dir}",
                exit_code=ExitCode.FAILURE,
            )
        time.sleep(0.1)


def _drain_backlog(
    read: Callable[[], Positions],
    request: DemoRequest,
    on_stage: Callable[[str], None],
    interruption: Interruption,
) -> tuple[Backlog, dict[str, int]]:
    """Older events drained before the run (within the backlog timeout); the hub's ends the run starts at."""
    positions = read()
    events = total_lag(positions)
    if events == 0:
        return Backlog(events=0, seconds=0.0, status="none"), hub_ends(positions)
    on_stage(f"draining {events:,} older events first (not part of this run)")
    began = time.monotonic()
    status: HostStatus = "timed_out"
    while time.monotonic() - began < request.backlog_timeout:
        if interruption.is_set():
            status = "interrupted"
            break
        positions = read()
        if total_lag(positions) == 0:
            status = "drained"
            break
        time.sleep(0.25)
    seconds = round(time.monotonic() - began, 3)
    return Backlog(events=events, seconds=seconds, status=status, remaining=total_lag(positions)), hub_ends(
        positions
    )


def _drain(
    watch: _Watch, request: DemoRequest, interruption: Interruption
) -> tuple[HostStatus, float | None]:
    """Until every partition stayed caught up for the grace period (since when: the second value),
    the host died, or the timeout."""
    assert watch.monitor is not None
    interrupted = interruption.is_set()
    timeout = (
        min(request.drain_timeout, DRAIN_AFTER_INTERRUPT_SECONDS) if interrupted else request.drain_timeout
    )
    deadline = time.monotonic() + timeout
    caught_up_since: float | None = None
    while time.monotonic() < deadline:
        if not watch.host.alive():
            watch.problems.append(f"the pipeline host exited on its own (see {watch.host.log_dir})")
            return "timed_out", None
        if not interrupted and interruption.is_set():
            return "interrupted", None
        if watch.monitor.caught_up():
            caught_up_since = caught_up_since or time.monotonic()
            if time.monotonic() - caught_up_since >= DRAIN_GRACE_SECONDS:
                return "drained", caught_up_since
        else:
            caught_up_since = None
        time.sleep(0.1)
    return ("interrupted" if interrupted else "timed_out"), None


def _record_faults(settings: Settings, run_id: str, spec: FaultSpec, watch: _Watch) -> None:
    """The faults struck, in wall-clock time, beside the run's manifest: its report marks them."""
    from paysim_cli.runs.faults import RunFault, RunFaults, write_faults

    began = watch.campaign_began_at
    faults = [
        RunFault(
            number=result.number,
            kind=result.kind.value,
            struck_at=began + timedelta(seconds=result.at),
            recovered_at=None
            if result.recovery_seconds is None
            else began + timedelta(seconds=result.at + result.recovery_seconds),
            detail=result.detail,
            problem=result.problem,
        )
        for result in (watch.campaign.results if watch.campaign is not None else [])
    ]
    write_faults(settings, run_id, RunFaults(spec=spec.text, faults=faults))


def _reconcile(
    settings: Settings, run_id: str, spec: FaultSpec, on_stage: Callable[[str], None]
) -> tuple[ReconciliationReport, ArchiveRepair | None]:
    """Totals and archive; a killed Azurite forgets its last blobs, so their gaps are repaired from
    the hub (and the report says so) before the run is checked again."""
    on_stage(f"reconciling run {run_id}")
    reconciliation = verify_run(settings, run_id)
    archive = next((check for check in reconciliation.checks if check.name == "archive"), None)
    if archive is None or archive.passed or spec.count(FaultKind.AZURITE_OUTAGE) == 0:
        return reconciliation, None
    from paysim_cli.reconcile.archive import repair_archive

    on_stage(f"Azurite lost archived events when it was killed: repairing the archive of run {run_id}")
    repaired = repair_archive(settings)
    repair = ArchiveRepair(
        missing_events=repaired.before.missing_events,
        events_archived=repaired.events_archived,
        complete=repaired.after.complete,
    )
    on_stage(f"re-archived {repair.events_archived:,} events from the hub; reconciling run {run_id} again")
    return verify_run(settings, run_id), repair


def _figures(watch: _Watch, reconciliation: ReconciliationReport, run_id: str) -> PipelineFigures:
    run = next((run for run in watch.host_report.get("runs", []) if run["run_id"] == run_id), None)
    first, last = reconciliation.first_commit_at, reconciliation.last_commit_at
    busy = (last - first).total_seconds() if first is not None and last is not None else 0.0
    return PipelineFigures(
        status=watch.status,
        throughput=round(reconciliation.processed / busy, 1) if busy > 0 else 0.0,
        drain_seconds=watch.drain_seconds,
        max_lag=watch.monitor.max_lag if watch.monitor is not None else 0,
        # Only the last host's: a killed host takes its histograms with it.
        latency_ms=LatencySummary.model_validate(run["latency_ms"])
        if run
        else LatencySummary(p50=0.0, p95=0.0, p99=0.0, max=0.0),
        latency_events=int(run["events"]) if run else 0,
        backlog=watch.backlog,
    )


def _faults_report(
    spec: FaultSpec, watch: _Watch, repair: ArchiveRepair | None, interrupted_by: str | None
) -> FaultsReport:
    results = watch.campaign.results if watch.campaign is not None else []
    stall = watch.monitor.longest_stall if watch.monitor is not None else None
    problems = [f"fault {item.number} ({item.kind}): {item.problem}" for item in results if item.problem]
    if len(results) < len(watch.schedule) and interrupted_by is None:
        problems.append(
            f"{len(watch.schedule) - len(results)} of the {len(watch.schedule)} faults were not struck"
        )
    if stall is not None and stall.seconds > STALL_LIMIT_SECONDS:
        problems.append(
            f"the pipeline stalled {stall.seconds:.1f} s from {stall.started_at:.1f} s into the run, "
            f"over the {STALL_LIMIT_SECONDS:.0f} s limit"
        )
    if watch.status != "drained" and interrupted_by is None:
        problems.append(f"the pipeline did not drain ({watch.status})")
    problems += watch.problems
    return FaultsReport(
        spec=spec.text,
        scheduled=len(watch.schedule),
        faults=results,
        hosts_started=watch.host.started,
        longest_stall_seconds=stall.seconds if stall is not None else 0.0,
        longest_stall_at=stall.started_at if stall is not None else 0.0,
        archive_repair=repair,
        host_logs=watch.host.log_dir,
        problems=problems,
        passed=not problems,
    )


def _schedule_seed(request: DemoRequest) -> int:
    """The run's seed strikes at the same seconds each time; without one, a random schedule."""
    return request.seed if request.seed is not None else secrets.randbelow(2**31)

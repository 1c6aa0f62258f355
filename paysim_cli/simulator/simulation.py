"""`simulate` as a service: plan a run, send it through the chosen target, write its manifest, report."""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable
from contextlib import closing, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from pydantic import BaseModel

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget, default_transport
from paysim_cli.hub.transport import EventPublisher
from paysim_cli.interrupts import Interruption, stop_on_signals
from paysim_cli.latency import LatencySummary
from paysim_cli.runs.layout import MANIFEST_FILE, PROFILE_FILE, UNDELIVERED_FILE, run_directory
from paysim_cli.runs.manifest import (
    ManifestCounts,
    RunManifest,
    build_manifest,
    profile_reference,
    write_manifest,
)
from paysim_cli.settings import Settings
from paysim_cli.simulator.capacity import CapacityCheck, check_capacity
from paysim_cli.simulator.profile import Profile
from paysim_cli.simulator.profile_store import find_profile, load_profile
from paysim_cli.simulator.progress import RunProgress, WorkerProgress, combine
from paysim_cli.simulator.publishing import join_worker_files, open_target, worker_file
from paysim_cli.simulator.request import SimulationRequest
from paysim_cli.simulator.runner import (
    LINGER_SECONDS,
    Clock,
    MonotonicClock,
    WorkerPlan,
    WorkerResult,
    WorkerRun,
)
from paysim_cli.worker_process import MAX_WORKERS

__all__ = ["SimulationReport", "SimulationRequest", "run_simulation"]

logger = logging.getLogger(__name__)
# What one simulate worker sends through Event Hubs with room to spare, for choosing workers by rate.
# bench/amqp.py measures a worker's CPU per event (~40 µs: ~12,000/s at half a core); through the local
# endpoint one worker kept up with ~8,600/s before its publishes, each waiting for the service's
# acknowledgement, fell behind. Below that, with the latency targets' headroom.
EVENTHUB_EVENTS_PER_WORKER = 6_000
# How long the oldest due event waits for company before a publish over Event Hubs (5 ms elsewhere):
# each SDK send to a partition costs ~0.3-0.7 ms of CPU whatever it carries (bench/amqp.py, ADR 0022),
# so at 5 ms a worker spent more CPU on sends than on events; 20 ms caps it at 50 publishes/s.
EVENTHUB_LINGER_SECONDS = 0.02


class InjectedFaults(BaseModel):
    malformed: int
    duplicates: int
    out_of_order: int


class SimulationReport(BaseModel):
    """The final report of a run."""

    run_id: str
    profile: str
    seed: int
    target: str
    workers: int
    status: str  # completed, interrupted or target_error
    planned: int
    sent: int
    failed: int
    retried: int
    batches: int
    target_rate: float
    achieved_rate: float
    elapsed_seconds: float
    backlog: int
    latency_ms: LatencySummary  # from each event's scheduled time to its acknowledgement
    # Connections, links and partitions opened before the schedule's clock started (the slowest
    # worker's): not part of any latency above.
    setup_seconds: float
    injected: InjectedFaults
    manifest: Path
    undelivered: Path | None
    output: Path | None
    reloads: int
    capacity: CapacityCheck | None
    error: str | None
    warnings: list[str]
    interrupted_by: str | None = None  # SIGINT or SIGTERM when status is interrupted


@dataclass(frozen=True)
class _Run:
    """A planned run: everything decided before anything is opened or sent."""

    request: SimulationRequest
    transport: HubTarget
    workers: int
    profile_name: str
    profile_path: Path
    profile: Profile
    seed: int
    start_ms: int
    run_id: str
    run_dir: Path
    plans: list[WorkerPlan]
    planned_end: float
    peak_rate: float  # the whole run's, all workers together
    warnings: list[str]  # known from the plan alone (event times)
    note: str | None  # workers chosen for the rate: said before the run starts

    @property
    def target(self) -> str:
        return "file" if self.request.output is not None else str(self.transport)


def run_simulation(
    settings: Settings,
    request: SimulationRequest,
    *,
    on_progress: Callable[[RunProgress], None] | None = None,
    on_capacity: Callable[[CapacityCheck], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    clock: Clock | None = None,
    interruption: Interruption | None = None,
) -> SimulationReport:
    """Run a simulation to its end (or SIGINT/SIGTERM, or a target that refuses), then write its
    manifest. With `interruption`, the caller owns the signal handling (the demo, around its stages).
    Three steps: plan (nothing opened), run (the target opened once, warmed up before the clock), report."""
    warn = on_warning or (lambda message: None)
    run = _plan(settings, request)
    for warning in run.warnings:
        warn(warning)
    if run.note is not None and on_note is not None:
        on_note(run.note)
    owned = stop_on_signals(Interruption()) if interruption is None else nullcontext(interruption)
    with owned as stopping:
        executed = _Execution(settings, run, clock or MonotonicClock(), on_progress, stopping)
        results = executed.run(on_capacity)
    late_warnings = sorted({warning for result in results for warning in result.warnings})
    for warning in late_warnings:
        warn(warning)
    manifest = _write_manifest(run, results, executed.started_at, datetime.now(UTC))
    return _report(run, results, manifest, executed.capacity, run.warnings + late_warnings, stopping)


def _plan(settings: Settings, request: SimulationRequest) -> _Run:
    """Decide the run: its profile, seed, name, length, workers and their shares; open nothing."""
    _check_request(request)
    profile_name, profile_path, _ = find_profile(settings, request.profile)
    profile = load_profile(profile_path)
    seed = request.seed if request.seed is not None else _random_seed()
    start = (request.start_time or datetime.now(UTC)).astimezone(UTC)
    start_ms = math.floor(start.timestamp() * 1000)
    run_id = request.run_id or f"{start:%Y%m%dT%H%M%S}{start_ms % 1000:03d}Z-s{seed}"
    run_dir = run_directory(settings, run_id)
    transport = request.transport or default_transport(settings)
    plans = partial(_worker_plans, request, profile_path, profile, seed, run_id, start_ms, run_dir)
    whole = plans(1, transport)[0]
    planned_end = whole.schedule().planned_end  # the whole run's schedule; each worker builds its share
    _check_plannable(request, profile_name, planned_end, run_dir)
    peak_rate = whole.rate_plan(profile).peak_rate(planned_end)
    workers = request.workers or workers_for_rate(peak_rate, transport if request.output is None else None)
    target = "file" if request.output is not None else str(transport)
    return _Run(
        request,
        transport,
        workers,
        profile_name,
        profile_path,
        profile,
        seed,
        start_ms,
        run_id,
        run_dir,
        plans(workers, transport if request.output is None else None),
        planned_end,
        peak_rate,
        event_time_warnings(start, planned_end),
        _workers_note(workers, target) if request.workers is None and workers > 1 else None,
    )


def _check_plannable(
    request: SimulationRequest, profile_name: str, planned_end: float, run_dir: Path
) -> None:
    if math.isinf(planned_end):
        raise PaysimError(
            "count_unreachable",
            f"profile {profile_name} ends at a rate of 0 events/s: --count {request.count} is never reached",
            "give --rate, or end the profile's stages at a rate above 0",
            exit_code=ExitCode.CONFIG,
        )
    if run_dir.exists():
        raise PaysimError(
            "run_exists",
            f"run {run_dir.name} already exists in {run_dir.parent}",
            "name this one with --run-id (a run is named by its start time and seed), "
            "or change --start-time or --seed",
            exit_code=ExitCode.CONFLICT,
        )


def _workers_note(workers: int, target: str) -> str:
    return (
        f"{workers} worker processes for {target} at this rate (one sends up to "
        f"{EVENTHUB_EVENTS_PER_WORKER:,} events/s); --workers sets the number"
    )


def _worker_plans(
    request: SimulationRequest,
    profile_path: Path,
    profile: Profile,
    seed: int,
    run_id: str,
    start_ms: int,
    run_dir: Path,
    workers: int,
    transport: HubTarget | None,
) -> list[WorkerPlan]:
    """Each worker's share of the run (`transport` None: to a file)."""
    linger = EVENTHUB_LINGER_SECONDS if transport is HubTarget.EVENTHUB else LINGER_SECONDS
    return [
        WorkerPlan(
            worker=worker,
            workers=workers,
            profile_path=profile_path,
            profile=profile,
            seed=seed,
            run_id=run_id,
            start_ms=start_ms,
            rate=request.rate,
            duration=request.duration,
            count=_share(request.count, worker, workers),
            partition_key_field=request.partition_key_field,
            watch=request.watch,
            undelivered_path=worker_file(run_dir / UNDELIVERED_FILE, worker, workers),
            linger=linger,
        )
        for worker in range(workers)
    ]


def workers_for_rate(peak_rate: float, transport: HubTarget | None) -> int:
    """Worker processes for a run without --workers: over Event Hubs, enough that none has to send more
    than EVENTHUB_EVENTS_PER_WORKER at the peak; one otherwise (one process takes 10,000/s to the local
    log, and a file needs no more)."""
    if transport is not HubTarget.EVENTHUB:
        return 1
    return max(1, min(MAX_WORKERS, math.ceil(peak_rate / EVENTHUB_EVENTS_PER_WORKER)))


def _write_manifest(
    run: _Run, results: list[WorkerResult], started_at: datetime, finished_at: datetime
) -> RunManifest:
    """What the workers delivered, added up: written however the run ended, so it can be reconciled."""
    counts = ManifestCounts()
    for result in results:
        counts.merge(result.counts)
    undelivered = run.run_dir / UNDELIVERED_FILE
    join_worker_files(undelivered, run.workers)
    if run.request.output is not None:
        join_worker_files(run.request.output, run.workers)
    manifest = build_manifest(
        counts,
        run_id=run.run_id,
        profile=profile_reference(run.profile_name, run.profile_path),
        seed=run.seed,
        workers=run.workers,
        target=run.target,
        partition_key_field=run.request.partition_key_field,
        event_time_origin=datetime.fromtimestamp(run.start_ms / 1000, UTC),
        started_at=started_at,
        finished_at=finished_at,
        undelivered_file=undelivered if undelivered.exists() else None,
        output_file=run.request.output,
        failed_workers=[result.progress.worker for result in results if result.failure is not None],
    )
    manifest_path = run.run_dir / MANIFEST_FILE
    write_manifest(manifest, manifest_path)
    logger.info("run %s: manifest written to %s", run.run_id, manifest_path)
    _raise_worker_failure(results, manifest_path)
    return manifest


def _report(
    run: _Run,
    results: list[WorkerResult],
    manifest: RunManifest,
    capacity: CapacityCheck | None,
    warnings: list[str],
    interruption: Interruption,
) -> SimulationReport:
    progress, latency = combine([result.progress for result in results])
    elapsed = progress.elapsed
    status = _overall_status(results)
    return SimulationReport(
        run_id=run.run_id,
        profile=run.profile_name,
        seed=run.seed,
        target=run.target,
        workers=run.workers,
        status=status,
        planned=sum(result.planned for result in results),
        sent=progress.sent,
        failed=progress.failed,
        retried=progress.retried,
        batches=sum(result.progress.batches for result in results),
        target_rate=round(sum(result.target_rate for result in results), 3),
        achieved_rate=round(progress.sent / elapsed, 3) if elapsed > 0 else 0.0,
        elapsed_seconds=round(elapsed, 3),
        backlog=progress.backlog,
        latency_ms=latency.summary(),
        setup_seconds=round(max(result.setup_seconds for result in results), 3),
        injected=InjectedFaults(
            malformed=manifest.totals.malformed,
            duplicates=manifest.totals.duplicates,
            out_of_order=manifest.totals.out_of_order,
        ),
        manifest=run.run_dir / MANIFEST_FILE,
        undelivered=manifest.undelivered_file,
        output=run.request.output,
        reloads=max(result.reloads for result in results),
        capacity=capacity,
        error=next((result.error for result in results if result.error), None),
        warnings=warnings,
        interrupted_by=interruption.signal_name if status == "interrupted" else None,
    )


def _check_request(request: SimulationRequest) -> None:
    if request.duration is not None and request.count is not None:
        raise PaysimError(
            "conflicting_options",
            "--duration and --count both say when to stop",
            "give one of them",
            exit_code=ExitCode.USAGE,
        )
    if request.output is not None and request.transport not in (None, HubTarget.LOCAL):
        raise PaysimError(
            "conflicting_options",
            "--output writes events to a file instead of publishing them through --transport",
            "drop --transport, or drop --output",
            exit_code=ExitCode.USAGE,
        )


def event_time_warnings(start: datetime, planned_seconds: float, now: datetime | None = None) -> list[str]:
    """A warning when the run's event times fall outside what the pipeline accepts by default: such
    events end as `event_time_out_of_range` failed items, not metrics."""
    from paysim_pipeline.config import PipelineConfig

    now = now or datetime.now(UTC)
    # The dataclass's defaults, which the Function app's settings can change (PAYSIM_MAX_EVENT_*).
    oldest = now - timedelta(seconds=PipelineConfig.max_event_age_seconds)
    newest = now + timedelta(seconds=PipelineConfig.max_event_skew_seconds)
    end = start + timedelta(seconds=planned_seconds)
    if oldest <= start and end <= newest:
        return []
    return [
        f"event times {start:%Y-%m-%dT%H:%M:%SZ} to {end:%Y-%m-%dT%H:%M:%SZ} fall outside what the pipeline "
        f"accepts by default ({oldest:%Y-%m-%dT%H:%M:%SZ} to {newest:%Y-%m-%dT%H:%M:%SZ}): those events "
        "will be failed items (event_time_out_of_range); choose a --start-time within the last 7 days"
    ]


def _random_seed() -> int:
    import secrets

    return secrets.randbits(32)


def _share(count: int | None, worker: int, workers: int) -> int | None:
    """Worker `worker`'s part of `count` events, the remainder going to the first workers."""
    if count is None:
        return None
    return count // workers + (1 if worker < count % workers else 0)


class _Execution:
    """Running a planned run. The target is opened once here and warmed up before the schedule's clock
    starts (a worker process opens and warms up its own: with several, this process opens it only to
    check the hub is there and fits the run)."""

    def __init__(
        self,
        settings: Settings,
        run: _Run,
        clock: Clock,
        on_progress: Callable[[RunProgress], None] | None,
        interruption: Interruption,
    ) -> None:
        self._settings, self._run, self._clock = settings, run, clock
        self._on_progress, self._interruption = on_progress, interruption
        self.capacity: CapacityCheck | None = None
        self.started_at = datetime.now(UTC)

    def run(self, on_capacity: Callable[[CapacityCheck], None] | None) -> list[WorkerResult]:
        run = self._run
        if len(run.plans) > 1:
            if run.request.output is None:
                with closing(open_target(self._settings, run.transport, None)) as publisher:
                    self._check_target(publisher, on_capacity)
            self._start_directory()
            return self._in_processes()
        opened = time.monotonic()
        with closing(open_target(self._settings, run.transport, run.request.output)) as publisher:
            self._check_target(publisher, on_capacity)
            self._start_directory()
            publisher.warm_up()  # the schedule's clock starts once the publisher's links are open
            prepared = WorkerRun(
                run.plans[0],
                publisher,
                self._clock,
                should_stop=self._interruption.is_set,
                on_progress=lambda progress: self._report([progress]),
            )
            setup = time.monotonic() - opened
            # The run starts when its clock does (the worker prepared, the links open): the manifest's
            # start is the one its per-second series and its events' intended times count from.
            self.started_at = datetime.now(UTC)
            result = prepared.run()
        result.setup_seconds = setup
        return [result]

    def _check_target(
        self, publisher: EventPublisher, on_capacity: Callable[[CapacityCheck], None] | None
    ) -> None:
        """Fail early on a hub that is not there; for Event Hubs, check the planned peak fits it."""
        run = self._run
        if run.request.output is not None:
            return
        partitions = len(publisher.partition_ids())
        if run.transport is not HubTarget.EVENTHUB:
            return
        self.capacity = _check_capacity(run, partitions)
        if on_capacity is not None:
            on_capacity(self.capacity)

    def _start_directory(self) -> None:
        run = self._run
        run.run_dir.mkdir(parents=True)
        shutil.copyfile(run.profile_path, run.run_dir / PROFILE_FILE)
        logger.info("run %s: %d workers publishing to %s", run.run_id, run.workers, run.target)
        self.started_at = datetime.now(UTC)

    def _in_processes(self) -> list[WorkerResult]:
        from paysim_cli.simulator.workers import run_in_processes

        return run_in_processes(
            self._settings,
            self._run.plans,
            target=self._run.transport,
            output=self._run.request.output,
            should_stop=self._interruption.is_set,
            on_progress=self._report,
        )

    def _report(self, progresses: list[WorkerProgress]) -> None:
        if self._on_progress is not None:
            self._on_progress(combine(progresses)[0])


def _check_capacity(run: _Run, partitions: int) -> CapacityCheck:
    """Compare the planned peak with the hub; the event size is measured on the run's first events."""
    plan = run.plans[0]
    sample = plan.generator(run.profile).block(0, plan.schedule().times(0, 1000))
    mean_bytes = sum(len(body) for body in sample.bodies) / len(sample)
    return check_capacity(
        peak_rate=run.peak_rate,
        mean_event_bytes=mean_bytes,
        partitions=partitions,
        throughput_units=run.request.throughput_units,
    )


def _raise_worker_failure(results: list[WorkerResult], manifest: Path) -> None:
    """A worker process that failed mid-run ends it with its error, once the manifest says what the
    others delivered (see simulator/workers.py: a simulate worker is not restarted)."""
    failed = [result for result in results if result.failure is not None]
    if not failed:
        return
    failure = failed[0].failure
    assert failure is not None
    counted = sum(result.progress.sent for result in results if result.failure is None)
    reported = sum(result.progress.sent for result in failed)
    raise PaysimError(
        failure.code,
        f"{failure.message}; the run stopped. Its manifest {manifest} counts the {counted:,} events the "
        f"other workers delivered; the failed worker had sent {reported:,} or more, not counted there",
        failure.hint,
        exit_code=failure.exit_code,
    )


def _overall_status(results: list[WorkerResult]) -> str:
    statuses = {result.stopped for result in results}
    for status in ("worker_failed", "target_error", "interrupted"):
        if status in statuses:
            return status
    return "completed"

"""`simulate` as a service: plan a run, send it through the chosen target, write its manifest, report."""

from __future__ import annotations

import math
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.settings import Settings
from paysim_cli.simulator.capacity import CapacityCheck, check_capacity
from paysim_cli.simulator.generator import PartitionKeyField
from paysim_cli.simulator.latency import LatencySummary
from paysim_cli.simulator.manifest import ManifestCounts, build_manifest, profile_reference, write_manifest
from paysim_cli.simulator.profile import Profile
from paysim_cli.simulator.profile_store import find_profile, load_profile
from paysim_cli.simulator.progress import RunProgress, WorkerProgress, combine
from paysim_cli.simulator.publishing import join_worker_files, open_target, worker_file
from paysim_cli.simulator.runner import Clock, MonotonicClock, WorkerPlan, WorkerResult, run_worker

UNDELIVERED_FILE = "undelivered.ndjson"
MANIFEST_FILE = "manifest.json"


class SimulationRequest(BaseModel):
    """What `paysim simulate` was asked to do."""

    model_config = ConfigDict(frozen=True)

    profile: str = "default"
    rate: float | None = Field(None, gt=0, le=10_000_000)
    duration: float | None = Field(None, gt=0)
    count: int | None = Field(None, ge=1)
    seed: int | None = Field(None, ge=0, lt=2**63)
    start_time: datetime | None = None
    workers: int = Field(1, ge=1, le=64)
    target: HubTarget = HubTarget.LOCAL
    output: Path | None = None
    partition_key_field: PartitionKeyField = "customer.id"
    watch: bool = False
    throughput_units: int = Field(1, ge=1, le=1000)


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
    latency_ms: LatencySummary
    injected: InjectedFaults
    manifest: Path
    undelivered: Path | None
    output: Path | None
    reloads: int
    capacity: CapacityCheck | None
    error: str | None
    warnings: list[str]


def run_directory(settings: Settings, run_id: str) -> Path:
    return settings.state_dir / "runs" / run_id


def run_simulation(
    settings: Settings,
    request: SimulationRequest,
    *,
    on_progress: Callable[[RunProgress], None] | None = None,
    on_capacity: Callable[[CapacityCheck], None] | None = None,
    clock: Clock | None = None,
) -> SimulationReport:
    """Run a simulation to its end (or Ctrl-C, or a target that refuses), then write its manifest."""
    _check_request(request)
    profile_name, profile_path, _ = find_profile(settings, request.profile)
    profile = load_profile(profile_path)
    seed = request.seed if request.seed is not None else _random_seed()
    start = (request.start_time or datetime.now(UTC)).astimezone(UTC)
    start_ms = math.floor(start.timestamp() * 1000)
    run_id = f"{start:%Y%m%dT%H%M%S}{start_ms % 1000:03d}Z-s{seed}"
    run_dir = run_directory(settings, run_id)
    plans = [
        WorkerPlan(
            worker=worker,
            workers=request.workers,
            profile_path=profile_path,
            profile=profile,
            seed=seed,
            run_id=run_id,
            start_ms=start_ms,
            rate=request.rate,
            duration=request.duration,
            count=_share(request.count, worker, request.workers),
            partition_key_field=request.partition_key_field,
            watch=request.watch,
            undelivered_path=worker_file(run_dir / UNDELIVERED_FILE, worker, request.workers),
        )
        for worker in range(request.workers)
    ]
    planned_end = plans[0].schedule().planned_end
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
            f"run {run_id} already exists in {run_dir.parent}",
            "a run is named by its start time and seed: change --start-time or --seed",
            exit_code=ExitCode.CONFLICT,
        )
    capacity = None
    if request.output is None:
        partitions = _partition_count(settings, request.target)  # fails early on a hub that is not there
        if request.target is HubTarget.EVENTHUB:
            capacity = _check_capacity(request, plans[0], profile, planned_end, partitions)
            if on_capacity is not None:
                on_capacity(capacity)
    run_dir.mkdir(parents=True)
    shutil.copyfile(profile_path, run_dir / "profile.yaml")

    started_at = datetime.now(UTC)
    results = _run(settings, request, plans, clock or MonotonicClock(), on_progress)
    finished_at = datetime.now(UTC)

    counts = ManifestCounts()
    for result in results:
        counts.merge(result.counts)
    undelivered = run_dir / UNDELIVERED_FILE
    join_worker_files(undelivered, request.workers)
    if request.output is not None:
        join_worker_files(request.output, request.workers)
    target = "file" if request.output is not None else str(request.target)
    manifest = build_manifest(
        counts,
        run_id=run_id,
        profile=profile_reference(profile_name, profile_path),
        seed=seed,
        workers=request.workers,
        target=target,
        partition_key_field=request.partition_key_field,
        event_time_origin=datetime.fromtimestamp(start_ms / 1000, UTC),
        started_at=started_at,
        finished_at=finished_at,
        undelivered_file=undelivered if undelivered.exists() else None,
        output_file=request.output,
        failed_workers=[result.progress.worker for result in results if result.failure is not None],
    )
    manifest_path = run_dir / MANIFEST_FILE
    write_manifest(manifest, manifest_path)
    _raise_worker_failure(results, manifest_path)

    progress, latency = combine([result.progress for result in results])
    elapsed = progress.elapsed
    return SimulationReport(
        run_id=run_id,
        profile=profile_name,
        seed=seed,
        target=target,
        workers=request.workers,
        status=_overall_status(results),
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
        injected=InjectedFaults(
            malformed=manifest.totals.malformed,
            duplicates=manifest.totals.duplicates,
            out_of_order=manifest.totals.out_of_order,
        ),
        manifest=manifest_path,
        undelivered=manifest.undelivered_file,
        output=request.output,
        reloads=max(result.reloads for result in results),
        capacity=capacity,
        error=next((result.error for result in results if result.error), None),
        warnings=sorted({warning for result in results for warning in result.warnings}),
    )


def _check_request(request: SimulationRequest) -> None:
    if request.duration is not None and request.count is not None:
        raise PaysimError(
            "conflicting_options",
            "--duration and --count both say when to stop",
            "give one of them",
            exit_code=ExitCode.USAGE,
        )
    if request.output is not None and request.target is not HubTarget.LOCAL:
        raise PaysimError(
            "conflicting_options",
            "--output writes events to a file instead of publishing them to --target",
            "drop --target, or drop --output",
            exit_code=ExitCode.USAGE,
        )


def _random_seed() -> int:
    import secrets

    return secrets.randbits(32)


def _share(count: int | None, worker: int, workers: int) -> int | None:
    """Worker `worker`'s part of `count` events, the remainder going to the first workers."""
    if count is None:
        return None
    return count // workers + (1 if worker < count % workers else 0)


def _partition_count(settings: Settings, target: HubTarget) -> int:
    publisher = open_target(settings, target, None)
    try:
        return len(publisher.partition_ids())
    finally:
        publisher.close()


def _check_capacity(
    request: SimulationRequest, plan: WorkerPlan, profile: Profile, planned_end: float, partitions: int
) -> CapacityCheck:
    """Compare the planned peak with the hub; the event size is measured on the run's first events."""
    sample = plan.generator(profile).block(0, plan.schedule().times(0, 1000))
    mean_bytes = sum(len(body) for body in sample.bodies) / len(sample)
    return check_capacity(
        peak_rate=plan.rate_plan(profile).peak_rate(planned_end) * request.workers,
        mean_event_bytes=mean_bytes,
        partitions=partitions,
        throughput_units=request.throughput_units,
    )


def _run(
    settings: Settings,
    request: SimulationRequest,
    plans: list[WorkerPlan],
    clock: Clock,
    on_progress: Callable[[RunProgress], None] | None,
) -> list[WorkerResult]:
    interrupted = threading.Event()

    def report(progresses: list[WorkerProgress]) -> None:
        if on_progress is not None:
            on_progress(combine(progresses)[0])

    with interrupt_sets(interrupted):
        if len(plans) > 1:
            from paysim_cli.simulator.workers import run_in_processes

            return run_in_processes(
                settings,
                plans,
                target=request.target,
                output=request.output,
                should_stop=interrupted.is_set,
                on_progress=report,
            )
        publisher = open_target(settings, request.target, request.output)
        try:
            return [
                run_worker(
                    plans[0],
                    publisher,
                    clock=clock,
                    started=clock.now(),
                    should_stop=interrupted.is_set,
                    on_progress=lambda progress: report([progress]),
                )
            ]
        finally:
            publisher.close()


@contextmanager
def interrupt_sets(flag: threading.Event) -> Iterator[None]:
    """Ctrl-C sets `flag`: the run stops, flushes and reports. A second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: object) -> None:
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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

"""One worker's send loop: generate what the schedule says is due, publish it, count what was delivered.

The loop never waits for the target before the schedule: when publishing is slow the backlog grows and
the next publish carries more events, and every latency is measured from the event's intended time.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from paysim_cli.errors import PaysimError
from paysim_cli.hub.transport import EventPublisher, OutgoingEvent
from paysim_cli.retry import RetryPolicy
from paysim_cli.runs.manifest import ManifestCounts
from paysim_cli.runs.recorders import SimulateRecorder
from paysim_cli.simulator.generator import BLOCK_EVENTS, EventBlock, EventGenerator, PartitionKeyField
from paysim_cli.simulator.profile import Profile
from paysim_cli.simulator.profile_store import load_profile
from paysim_cli.simulator.progress import WorkerProgress
from paysim_cli.simulator.publishing import UndeliveredLog, publish_with_retry
from paysim_cli.simulator.schedule import RatePlan, Schedule

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# Longest sleep: how often an idle loop looks at Ctrl-C, the profile file and the live view.
MAX_SLEEP_SECONDS = 0.1
# Shortest sleep, so that a clock that cannot represent a tiny step still moves on.
MIN_SLEEP_SECONDS = 0.0001
PROGRESS_INTERVAL_SECONDS = 0.5
WATCH_INTERVAL_SECONDS = 1.0
# How long the oldest due event may wait for company, so that publishes carry more than one event.
LINGER_SECONDS = 0.005


class Clock(Protocol):
    """Monotonic seconds and sleeping; tests pass a clock that sleeps by moving its hands."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The system's monotonic clock, shared by every process on the machine."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class WorkerPlan:
    """What one worker does; picklable, so it can be handed to a worker process."""

    worker: int
    workers: int
    profile_path: Path
    profile: Profile
    seed: int
    run_id: str
    start_ms: int  # event-time origin: the run's start, epoch milliseconds
    rate: float | None  # --rate, of which the worker sends 1/workers
    duration: float | None
    count: int | None  # this worker's share of --count
    partition_key_field: PartitionKeyField
    watch: bool
    undelivered_path: Path
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    linger: float = LINGER_SECONDS

    def rate_plan(self, profile: Profile) -> RatePlan:
        return RatePlan.from_profile(
            profile, start_epoch=self.start_ms / 1000, rate=self.rate, scale=1 / self.workers
        )

    def run_length(self, profile: Profile) -> float | None:
        """The duration to schedule for: --duration, else the profile's; None with --count."""
        if self.count is not None:
            return None
        return self.duration if self.duration is not None else profile.planned_duration

    def schedule(self) -> Schedule:
        return Schedule(
            self.rate_plan(self.profile), duration=self.run_length(self.profile), count=self.count
        )

    def generator(self, profile: Profile) -> EventGenerator:
        return EventGenerator(
            profile,
            seed=self.seed,
            worker=self.worker,
            run_id=self.run_id,
            start_ms=self.start_ms,
            partition_key_field=self.partition_key_field,
        )


@dataclass
class WorkerResult:
    progress: WorkerProgress
    counts: ManifestCounts
    planned: int
    target_rate: float
    stopped: str  # completed, interrupted, target_error or worker_failed
    error: str | None = None
    reloads: int = 0
    warnings: list[str] = field(default_factory=list)
    failure: PaysimError | None = None  # worker_failed: why the worker's process ended the run
    # Opening the publisher and warming it up (connections, links), before the run's clock started.
    setup_seconds: float = 0.0


class ProfileWatcher:
    """Notices a changed profile file by polling its modification time and size (no extra dependency)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._signature = self._stat()
        self._next_poll = WATCH_INTERVAL_SECONDS

    def _stat(self) -> tuple[int, int] | None:
        try:
            status = self._path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def poll(self, now: float) -> Profile | PaysimError | None:
        """The reloaded profile, the error that kept it from loading, or None when unchanged."""
        if now < self._next_poll:
            return None
        self._next_poll = now + WATCH_INTERVAL_SECONDS
        signature = self._stat()
        if signature == self._signature or signature is None:
            return None
        self._signature = signature
        try:
            return load_profile(self._path)
        except PaysimError as error:
            return error


def run_worker(
    plan: WorkerPlan,
    publisher: EventPublisher,
    *,
    clock: Clock,
    started: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[WorkerProgress], None] | None = None,
) -> WorkerResult:
    """Send this worker's share of the run from `started` (a `clock` reading; None: as soon as the worker
    is prepared) until done or stopped."""
    return WorkerRun(plan, publisher, clock, should_stop, on_progress).run(started)


class WorkerRun:
    """One worker's run, prepared before the schedule's clock starts: its schedule, generator and first
    block are built on creation (the generator's reference data and the first block took ~0.5 s, in
    which the first events fell due and the worker started that far behind), so `run` only sends."""

    def __init__(
        self,
        plan: WorkerPlan,
        publisher: EventPublisher,
        clock: Clock,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[WorkerProgress], None] | None = None,
    ) -> None:
        self._plan, self._publisher, self._clock = plan, publisher, clock
        self._should_stop, self._on_progress = should_stop, on_progress
        self._schedule = plan.schedule()
        self._generator = plan.generator(plan.profile)
        self._watcher = ProfileWatcher(plan.profile_path) if plan.watch else None
        self._progress = WorkerProgress(worker=plan.worker)
        self._result = WorkerResult(
            self._progress,
            ManifestCounts(),
            planned=self._schedule.total,
            target_rate=0.0,
            stopped="completed",
        )
        self._undelivered = UndeliveredLog(plan.undelivered_path)
        self._jitter = random.Random(plan.seed + plan.worker)
        self._blocks = _BlocksAhead()
        self._block: EventBlock | None = None
        if self._schedule.total > 0:  # the first block now, and the next one started
            self._block = self._blocks.take(self._generator, self._schedule, 0)
        self._next_index = 0
        self._next_report = 0.0
        # Set by `run`, when the schedule's clock starts.
        self._started: float
        self._wall_start: float
        self._series: SimulateRecorder
        _freeze_heap()

    def run(self, started: float | None = None) -> WorkerResult:
        """Send from `started` (a clock reading; None: now); the heap is unfrozen at the end."""
        self._started = self._clock.now() if started is None else started
        # The wall clock at `started`: events carry their intended send time as epoch ms, so the
        # pipeline can measure end-to-end latency from it (a monotonic reading means nothing elsewhere).
        self._wall_start = time.time() - (self._clock.now() - self._started)
        # The per-second series (docs/reports.md), in the run's directory beside the undelivered file.
        plan = self._plan
        self._series = SimulateRecorder(plan.undelivered_path.parent, plan.worker, self._wall_start)
        try:
            return self._send()
        finally:
            gc.unfreeze()

    def _now(self) -> float:
        return self._clock.now() - self._started

    def _send(self) -> WorkerResult:
        try:
            while self._next_index < self._schedule.total and not self._stopping():
                self._step()
            while not self._stopping() and self._now() < self._schedule.planned_end:
                _nap(self._clock, self._schedule.planned_end - self._now())
        finally:
            self._blocks.close()
            self._undelivered.close()
            self._series.write()
        now = self._now()
        self._update(now, self._schedule.due(now))
        self._result.planned = self._schedule.total
        self._result.target_rate = self._schedule.target_rate(now)
        return self._result

    def _stopping(self) -> bool:
        if self._result.stopped != "completed":
            return True
        if self._should_stop():
            self._result.stopped = "interrupted"
            return True
        return False

    def _step(self) -> None:
        now = self._now()
        self._watch(now)
        due = self._schedule.due(now)
        self._series.target(now, self._schedule)
        if self._on_progress is not None and now >= self._next_report:
            self._update(now, due)
            self._on_progress(self._progress)
            self._next_report = now + PROGRESS_INTERVAL_SECONDS
        if due <= self._next_index:
            _nap(self._clock, self._schedule.time_of(self._next_index) - now)
            return
        lingering = _linger_left(self._schedule, self._plan.linger, now, due, self._next_index)
        if lingering > 0:
            _nap(self._clock, lingering)
            return
        self._publish(due)

    def _watch(self, now: float) -> None:
        change = self._watcher.poll(now) if self._watcher is not None else None
        if isinstance(change, PaysimError):
            self._result.warnings.append(f"kept the previous profile: {change.message}")
        elif change is not None:
            self._schedule.replan(
                self._plan.rate_plan(change),
                at=now,
                next_index=self._next_index,
                duration=self._plan.run_length(change),
            )
            self._generator, self._block = self._plan.generator(change), None
            self._result.reloads += 1

    def _publish(self, due: int) -> None:
        """Publish the due events of the current block, at most."""
        number = self._next_index // BLOCK_EVENTS
        block = self._block
        if block is None or block.first_index != number * BLOCK_EVENTS:
            block = self._block = self._blocks.take(self._generator, self._schedule, number)
        start = self._next_index - block.first_index
        stop = min(due, block.first_index + len(block)) - block.first_index
        run_id = self._plan.run_id
        intended_ms = ((self._wall_start + block.intended[start:stop]) * 1000).round().astype(int).tolist()
        events = [
            OutgoingEvent(body, partition_key=key, properties={"run_id": run_id, "intended_ms": ms})
            for body, key, ms in zip(
                block.bodies[start:stop], block.partition_keys[start:stop], intended_ms, strict=True
            )
        ]
        delivery = publish_with_retry(
            self._publisher,
            events,
            self._plan.retry,
            sleep=self._clock.sleep,
            jitter=self._jitter,
            give_up=self._should_stop,
        )
        acknowledged = self._now()
        progress, result = self._progress, self._result
        progress.retried += delivery.retries * len(events)
        self._next_index = block.first_index + stop
        if delivery.error is None:
            result.counts.add_delivered(block, start, stop)
            progress.sent += len(events)
            progress.batches += delivery.batches
            progress.latency.record(acknowledged - block.intended[start:stop])
            self._series.delivered(acknowledged, block.intended[start:stop], block.kind[start:stop])
            return
        self._series.undelivered(acknowledged, block.intended[start:stop])
        self._undelivered.write(events, delivery.error)
        result.counts.add_undelivered(len(events))
        progress.failed += len(events)
        if delivery.permanent_failure:
            result.stopped, result.error = "target_error", delivery.error.message

    def _update(self, now: float, due: int) -> None:
        progress = self._progress
        progress.elapsed = now
        progress.current_rate = self._schedule.rate_at(now)
        progress.scheduled = due
        progress.backlog = max(0, due - self._next_index)


class _BlocksAhead:
    """A worker's event blocks, each next one generated on a thread of its own while the current one is
    published. Publishing mostly waits for the target's acknowledgements, with the GIL released; inline,
    generating a block (~20 % of a worker's time over Event Hubs, ADR 0022) held up every event due
    meanwhile. A block depends only on its generator, number and times, so it is the same either way."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._ahead: tuple[EventGenerator, int, Future[EventBlock]] | None = None

    def take(self, generator: EventGenerator, schedule: Schedule, number: int) -> EventBlock:
        """Block `number`: the one generated ahead when it is that (same generator: no profile reload
        since), else generated now; then the next is started."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] is generator and ahead[1] == number:
            block = ahead[2].result()
        else:
            if ahead is not None:  # of a replaced generator: let it finish, one block at a time
                wait([ahead[2]])
            block = generator.block(number, _block_times(schedule, number))
        following = number + 1
        if following * BLOCK_EVENTS < schedule.total:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, "paysim-generate")
            times = _block_times(schedule, following)
            self._ahead = (generator, following, self._executor.submit(generator.block, following, times))
        return block

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def _freeze_heap() -> None:
    """Collect once, then keep every object alive so far out of the collector's sight (until the run's
    `gc.unfreeze`).

    A full collection walks every tracked object: in a simulate worker (the SDK, numpy, the generator's
    reference data) that took 45-55 ms of CPU, four times in a 20 s run at 5,000 events/s, each pausing
    every publish in flight. Frozen, the set-up's objects are never collected (they live for the run
    anyway) and the collector walks only what the run allocates (1-6 ms). Done while preparing, before
    the clock starts: the collection itself takes as long."""
    gc.collect()
    gc.freeze()


def _block_times(schedule: Schedule, number: int) -> npt.NDArray[np.float64]:
    return schedule.times(number * BLOCK_EVENTS, min(schedule.total, (number + 1) * BLOCK_EVENTS))


def _nap(clock: Clock, seconds: float) -> None:
    clock.sleep(min(max(seconds, MIN_SLEEP_SECONDS), MAX_SLEEP_SECONDS))


def _linger_left(schedule: Schedule, linger: float, now: float, due: int, next_index: int) -> float:
    """Seconds the due events should still wait for company; 0 to publish now.

    Publish when the oldest due event has lingered long enough, or when the rest of its block (or of the
    run) is due anyway.
    """
    block_end = min(schedule.total, (next_index // BLOCK_EVENTS + 1) * BLOCK_EVENTS)
    if due >= block_end:
        return 0.0
    return max(0.0, schedule.time_of(next_index) + linger - now)

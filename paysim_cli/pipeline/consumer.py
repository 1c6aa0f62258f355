"""One host worker: a member of the consumer group that feeds its partitions' batches to the function.

Each partition it owns is read from the group's checkpoint on; a batch goes to the function, and only
when the function returns is the hub checkpoint moved past it. A batch whose invocation raises is
delivered again after a backoff, until it succeeds, the worker stops or the partition goes to another
worker, so nothing is skipped: the pipeline's own checkpoint in PostgreSQL makes a redelivery change no
total. While it retries, the worker keeps renewing its leases and reporting, so the partition shows as
retrying in the host's view instead of passing silently to another worker stuck on the same batch.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventConsumer
from paysim_cli.hub.targets import HubTarget
from paysim_cli.hub.transport import HubError, ReceivedEvent
from paysim_cli.latency import LatencyHistogram
from paysim_cli.pipeline.invocation import PartitionContext, invoke
from paysim_cli.pipeline.leases import CLAIM_INTERVAL_SECONDS, LEASE_SECONDS
from paysim_cli.pipeline.loader import HostedFunction
from paysim_cli.pipeline.release import ReleaseTracker
from paysim_cli.retry import RetryPolicy
from paysim_cli.settings import Settings

PROGRESS_INTERVAL_SECONDS = 1.0
REDELIVERY_POLICY = RetryPolicy(base_delay=0.1, max_delay=5.0)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerPlan:
    """What one worker does; picklable, so it can be handed to a worker process."""

    worker: int
    settings: Settings
    function_dir: Path
    function_name: str
    consumer_group: str
    batch_size: int
    max_wait_seconds: float
    lease_seconds: float = LEASE_SECONDS
    redelivery: RetryPolicy = REDELIVERY_POLICY
    source: HubTarget = HubTarget.LOCAL  # the local log, or Event Hubs through the SDK
    # The host's worker count: over Event Hubs, worker i of n is assigned every n-th partition.
    workers: int = 1
    # The worker's lease owner in the local log: a restarted worker keeps its predecessor's, so it takes
    # the partitions back at once instead of waiting for their leases to expire.
    owner_id: str | None = None
    # Run the active release (`paysim function deploy --env local`), switching when it changes, instead
    # of function_dir alone.
    follow_releases: bool = False


@dataclass
class PartitionRetry:
    """A partition whose batch keeps failing: the host shows it as retrying until the batch returns."""

    partition_id: str
    worker: int
    first_sequence_number: int
    last_sequence_number: int
    failing_since: datetime
    failed_attempts: int
    last_error: str


@dataclass
class ConsumerStats:
    """A worker's counters; end-to-end latency per run id (from the events' `intended_ms` property)."""

    worker: int
    events: int = 0
    batches: int = 0
    failed_invocations: int = 0
    last_error: str | None = None
    partitions: list[str] = field(default_factory=list)
    latency: dict[str, LatencyHistogram] = field(default_factory=dict)
    first_batch_at: float | None = None  # wall clock, seconds
    last_commit_at: float | None = None
    # The last sequence number delivered, per partition (the Event Hubs source's drain check uses it).
    delivered: dict[str, int] = field(default_factory=dict)
    retrying: dict[str, PartitionRetry] = field(default_factory=dict)
    release: str | None = None  # the release it runs (None: function_dir, or the working tree)


def retrying_partitions(stats: Iterable[ConsumerStats]) -> list[PartitionRetry]:
    """Every worker's retrying partitions, longest failing first."""
    retries = [retry for item in stats for retry in item.retrying.values()]
    return sorted(retries, key=lambda retry: (retry.failing_since, retry.partition_id))


def run_consumer(
    plan: ConsumerPlan,
    function: HostedFunction | ReleaseTracker,
    *,
    should_stop: Callable[[], bool],
    sleep: Callable[[float], object] = time.sleep,
    on_progress: Callable[[ConsumerStats], None] | None = None,
) -> ConsumerStats:
    """Consume the group's partitions this worker owns until `should_stop`; its counters at the end.

    `sleep` waits when there is nothing to deliver; give one that returns early on stop (`Event.wait`).
    """
    consumer = LocalEventConsumer(
        LocalEventLog.open(plan.settings.event_log_path), plan.consumer_group, owner_id=plan.owner_id
    )
    try:
        return _ConsumerLoop(plan, function, consumer, should_stop, sleep, on_progress).run()
    finally:
        consumer.close()


@dataclass
class _Redelivery:
    """A batch whose invocation failed, held for its partition until its backoff has passed."""

    events: Sequence[ReceivedEvent]
    attempt: int
    due: float  # monotonic


class _ConsumerLoop:
    def __init__(
        self,
        plan: ConsumerPlan,
        function: HostedFunction | ReleaseTracker,
        consumer: LocalEventConsumer,
        should_stop: Callable[[], bool],
        sleep: Callable[[float], object],
        on_progress: Callable[[ConsumerStats], None] | None,
    ) -> None:
        self._plan, self._function, self._consumer = plan, function, consumer
        self._should_stop, self._sleep, self._on_progress = should_stop, sleep, on_progress
        self._stats = ConsumerStats(plan.worker)
        self._delivery = BatchDelivery(plan, function, self._stats)
        self._owned: list[str] = []
        self._redeliveries: dict[str, _Redelivery] = {}
        self._idle_turn = 0
        self._next_claim = self._next_report = 0.0

    def run(self) -> ConsumerStats:
        while not self._should_stop():
            self._keep_up()
            self._turn()
        return self._stats

    def _keep_up(self) -> None:
        """Renew the leases (and rebalance) and report, each when it is due, retrying or not; follow the
        active release while idle too."""
        self._delivery.current()
        now = time.monotonic()
        if now >= self._next_claim:
            self._owned = self._stats.partitions = self._consumer.claim_partitions(self._plan.lease_seconds)
            self._next_claim = now + CLAIM_INTERVAL_SECONDS
            for partition_id in set(self._redeliveries) - set(self._owned):
                # Its new owner delivers the batch again from the group's checkpoint, and reports it.
                del self._redeliveries[partition_id]
                self._stats.retrying.pop(partition_id, None)
        if self._on_progress is not None and now >= self._next_report:
            self._on_progress(self._stats)
            self._next_report = now + PROGRESS_INTERVAL_SECONDS

    def _turn(self) -> None:
        """One batch from each owned partition: a failed one again once its backoff has passed, else
        the next events. A retrying partition holds up no other. When none had anything, wait."""
        if not self._owned:
            self._sleep(self._plan.max_wait_seconds)
            return
        delivered = False
        for partition_id in self._owned:
            if self._should_stop():
                return
            redelivery = self._redeliveries.get(partition_id)
            if redelivery is not None:
                if time.monotonic() >= redelivery.due:
                    self._deliver(partition_id, redelivery.events)
                    delivered = True
                continue
            events = self._consumer.receive(
                partition_id, max_events=self._plan.batch_size, max_wait_seconds=0
            )
            if events:
                self._deliver(partition_id, events)
                delivered = True
        if not delivered:
            self._wait()

    def _wait(self) -> None:
        """Caught up everywhere: wait for new events on one partition (in turn) that is not retrying,
        or, when all are, for the first backoff to pass (renewing the leases at least every second)."""
        idle = [partition_id for partition_id in self._owned if partition_id not in self._redeliveries]
        if not idle:
            first_due = min(redelivery.due for redelivery in self._redeliveries.values())
            self._sleep(max(0.0, min(first_due - time.monotonic(), CLAIM_INTERVAL_SECONDS)))
            return
        partition_id = idle[self._idle_turn % len(idle)]
        self._idle_turn += 1
        events = self._consumer.receive(
            partition_id, max_events=self._plan.batch_size, max_wait_seconds=self._plan.max_wait_seconds
        )
        if events:
            self._deliver(partition_id, events)

    def _deliver(self, partition_id: str, events: Sequence[ReceivedEvent]) -> None:
        """Invoke the function once; checkpoint when it returned, else hold the batch for a retry."""
        context = PartitionContext(self._plan.settings.eventhub_name, self._plan.consumer_group, partition_id)
        if not self._delivery.attempt(context, events):
            previous = self._redeliveries.get(partition_id)
            attempt = 0 if previous is None else previous.attempt + 1
            self._redeliveries[partition_id] = _Redelivery(
                events, attempt, time.monotonic() + self._delivery.backoff(attempt)
            )
            return
        self._redeliveries.pop(partition_id, None)
        last = events[-1]
        try:
            self._consumer.checkpoint(partition_id, last.sequence_number, last.offset)
        except HubError as error:
            if error.code != "ownership_lost":
                raise
            # Another worker owns the partition now and will redeliver from the group's checkpoint.
            logger.warning("partition %s: %s", partition_id, error.message)


class BatchDelivery:
    """Invokes the function with a batch, counting and timing what it delivers and what keeps failing.

    Shared by both sources: the caller checkpoints (the local log, or the Blob checkpoint store) only
    when an invocation returned, and delivers a failed batch again after `backoff(attempt)`.
    """

    def __init__(
        self, plan: ConsumerPlan, function: HostedFunction | ReleaseTracker, stats: ConsumerStats
    ) -> None:
        self._plan, self._stats = plan, stats
        self._release = function if isinstance(function, ReleaseTracker) else None
        self._function = function.current() if isinstance(function, ReleaseTracker) else function
        self._jitter = random.Random(plan.worker)

    def current(self) -> HostedFunction:
        """The function to invoke now: with a release tracker, the active release's, which changes only
        here, between invocations (a failed batch's next attempt runs the code active by then)."""
        if self._release is not None:
            self._function = self._release.current()
            status = self._release.status
            self._stats.release = None if status is None else status.release
        return self._function

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before delivering a batch again after its `attempt`-th failure (from 0)."""
        return self._plan.redelivery.delay(attempt, self._jitter)

    def attempt(self, context: PartitionContext, events: Sequence[ReceivedEvent]) -> bool:
        """Invoke the function once with the batch: True when it returned, False when it raised."""
        stats = self._stats
        if stats.first_batch_at is None:
            stats.first_batch_at = time.time()
        function = self.current()
        try:
            invoke(function, events, context)
        except Exception as error:  # noqa: BLE001 - as in the Functions host, any exception fails the invocation
            failure = f"{type(error).__name__}: {error}"
            self._failed(context.partition_id, events, failure)
            if self._release is not None:
                self._release.record(len(events), failure)
            return False
        if self._release is not None:
            self._release.record(len(events), None)
        stats.retrying.pop(context.partition_id, None)
        stats.last_commit_at = time.time()
        stats.events += len(events)
        stats.batches += 1
        stats.delivered[context.partition_id] = events[-1].sequence_number
        self._record_latency(events, stats.last_commit_at)
        return True

    def deliver(
        self,
        context: PartitionContext,
        events: Sequence[ReceivedEvent],
        *,
        should_stop: Callable[[], bool],
        sleep: Callable[[float], object],
        still_owned: Callable[[str], bool],
    ) -> bool:
        """Invoke until the function returns (True), retrying in place with backoff; False when the
        host stops first or `still_owned(partition_id)` says the partition went to another worker."""
        attempt = 0
        while not self.attempt(context, events):
            sleep(self.backoff(attempt))
            attempt += 1
            if should_stop():
                return False  # still retrying: the final report shows it
            if not still_owned(context.partition_id):
                self._stats.retrying.pop(context.partition_id, None)  # the new owner reports it now
                return False
        return True

    def _failed(self, partition_id: str, events: Sequence[ReceivedEvent], error: str) -> None:
        stats = self._stats
        stats.failed_invocations += 1
        stats.last_error = error
        first, last = events[0].sequence_number, events[-1].sequence_number
        retry = stats.retrying.get(partition_id)
        if retry is None or (retry.first_sequence_number, retry.last_sequence_number) != (first, last):
            retry = PartitionRetry(partition_id, stats.worker, first, last, datetime.now(UTC), 0, error)
            stats.retrying[partition_id] = retry
        retry.failed_attempts += 1
        retry.last_error = error
        logger.warning(
            "partition %s, sequence numbers %d..%d: invocation failed (%s); redelivering",
            partition_id,
            first,
            last,
            error,
        )

    def _record_latency(self, events: Sequence[ReceivedEvent], committed_at: float) -> None:
        """Commit time minus each event's intended send time, per run; events without it are not timed."""
        import numpy as np

        intended: dict[str, list[int]] = {}
        for event in events:
            run_id, intended_ms = event.properties.get("run_id"), event.properties.get("intended_ms")
            if isinstance(run_id, str) and isinstance(intended_ms, int):
                intended.setdefault(run_id, []).append(intended_ms)
        for run_id, times in intended.items():
            histogram = self._stats.latency.setdefault(run_id, LatencyHistogram())
            histogram.record(committed_at - np.asarray(times, dtype=np.float64) / 1000)

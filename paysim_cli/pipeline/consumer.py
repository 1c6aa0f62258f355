"""One host worker: a member of the consumer group that feeds its partitions' batches to the function.

Each partition it owns is read from the group's checkpoint on; a batch goes to the function, and only
when the function returns is the hub checkpoint moved past it. A batch whose invocation raises is
delivered again after a backoff, until it succeeds or the worker stops, so nothing is skipped: the
pipeline's own checkpoint in PostgreSQL makes a redelivery change no total.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventConsumer
from paysim_cli.hub.targets import HubTarget
from paysim_cli.hub.transport import HubError, ReceivedEvent
from paysim_cli.pipeline.invocation import PartitionContext, invoke
from paysim_cli.pipeline.leases import CLAIM_INTERVAL_SECONDS, LEASE_SECONDS
from paysim_cli.pipeline.loader import HostedFunction
from paysim_cli.settings import Settings
from paysim_cli.simulator.latency import LatencyHistogram
from paysim_cli.simulator.publishing import RetryPolicy

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


def run_consumer(
    plan: ConsumerPlan,
    function: HostedFunction,
    *,
    should_stop: Callable[[], bool],
    sleep: Callable[[float], object] = time.sleep,
    on_progress: Callable[[ConsumerStats], None] | None = None,
) -> ConsumerStats:
    """Consume the group's partitions this worker owns until `should_stop`; its counters at the end.

    `sleep` waits out a redelivery backoff; give one that returns early on stop (`Event.wait`).
    """
    consumer = LocalEventConsumer(LocalEventLog.open(plan.settings.event_log_path), plan.consumer_group)
    try:
        return _ConsumerLoop(plan, function, consumer, should_stop, sleep, on_progress).run()
    finally:
        consumer.close()


class _ConsumerLoop:
    def __init__(
        self,
        plan: ConsumerPlan,
        function: HostedFunction,
        consumer: LocalEventConsumer,
        should_stop: Callable[[], bool],
        sleep: Callable[[float], object],
        on_progress: Callable[[ConsumerStats], None] | None,
    ) -> None:
        self._plan, self._function, self._consumer = plan, function, consumer
        self._should_stop, self._sleep, self._on_progress = should_stop, sleep, on_progress
        self._stats = ConsumerStats(plan.worker)
        self._delivery = BatchDelivery(plan, function, self._stats, should_stop, sleep)
        self._owned: list[str] = []
        self._idle_turn = 0

    def run(self) -> ConsumerStats:
        next_claim = next_report = 0.0
        while not self._should_stop():
            now = time.monotonic()
            if now >= next_claim:
                self._owned = self._stats.partitions = self._consumer.claim_partitions(
                    self._plan.lease_seconds
                )
                next_claim = now + CLAIM_INTERVAL_SECONDS
            if self._on_progress is not None and now >= next_report:
                self._on_progress(self._stats)
                next_report = now + PROGRESS_INTERVAL_SECONDS
            self._turn()
        return self._stats

    def _turn(self) -> None:
        """Deliver one batch from each owned partition that has events; when none has, wait on one."""
        if not self._owned:
            self._sleep(self._plan.max_wait_seconds)
            return
        delivered = False
        for partition_id in self._owned:
            if self._should_stop():
                return
            events = self._consumer.receive(
                partition_id, max_events=self._plan.batch_size, max_wait_seconds=0
            )
            if events:
                self._deliver(partition_id, events)
                delivered = True
        if not delivered:
            # Caught up everywhere: wait for new events on one partition, taking them in turn.
            partition_id = self._owned[self._idle_turn % len(self._owned)]
            self._idle_turn += 1
            events = self._consumer.receive(
                partition_id, max_events=self._plan.batch_size, max_wait_seconds=self._plan.max_wait_seconds
            )
            if events:
                self._deliver(partition_id, events)

    def _deliver(self, partition_id: str, events: Sequence[ReceivedEvent]) -> None:
        """Invoke the function until it returns, then checkpoint; on stop, leave the batch unconfirmed."""
        context = PartitionContext(self._plan.settings.eventhub_name, self._plan.consumer_group, partition_id)
        if not self._delivery.deliver(context, events):
            return
        last = events[-1]
        try:
            self._consumer.checkpoint(partition_id, last.sequence_number, last.offset)
        except HubError as error:
            if error.code != "ownership_lost":
                raise
            # Another worker owns the partition now and will redeliver from the group's checkpoint.
            logger.warning("partition %s: %s", partition_id, error.message)


class BatchDelivery:
    """Invokes the function with a batch until it returns, counting and timing what it delivers.

    Shared by both sources: the caller checkpoints (the local log, or the Blob checkpoint store) only
    when `deliver` says the function returned.
    """

    def __init__(
        self,
        plan: ConsumerPlan,
        function: HostedFunction,
        stats: ConsumerStats,
        should_stop: Callable[[], bool],
        sleep: Callable[[float], object],
    ) -> None:
        self._plan, self._function, self._stats = plan, function, stats
        self._should_stop, self._sleep = should_stop, sleep
        self._jitter = random.Random(plan.worker)

    def deliver(self, context: PartitionContext, events: Sequence[ReceivedEvent]) -> bool:
        """True once the function returned for the batch; False when the host stopped first."""
        stats = self._stats
        if stats.first_batch_at is None:
            stats.first_batch_at = time.time()
        attempt = 0
        while True:
            try:
                invoke(self._function, events, context)
                break
            except Exception as error:  # noqa: BLE001 - as in the Functions host, any exception fails the invocation
                stats.failed_invocations += 1
                stats.last_error = f"{type(error).__name__}: {error}"
                logger.warning(
                    "partition %s, sequence numbers %d..%d: invocation failed (%s); redelivering",
                    context.partition_id,
                    events[0].sequence_number,
                    events[-1].sequence_number,
                    stats.last_error,
                )
                self._sleep(self._plan.redelivery.delay(attempt, self._jitter))
                attempt += 1
                if self._should_stop():
                    return False
        stats.last_commit_at = time.time()
        stats.events += len(events)
        stats.batches += 1
        stats.delivered[context.partition_id] = events[-1].sequence_number
        self._record_latency(events, stats.last_commit_at)
        return True

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

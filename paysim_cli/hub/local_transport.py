"""The transport seam over the local event log: a publisher and a consumer with partition ownership."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.routing import PartitionRouter, split_batches
from paysim_cli.hub.transport import (
    EARLIEST,
    MAX_BATCH_BYTES,
    EventPosition,
    OutgoingEvent,
    PartitionInfo,
    PositionKind,
    PublishResult,
    ReceivedEvent,
)

DEFAULT_LEASE_SECONDS = 30.0
# How often a waiting `receive` looks for new events; SQLite has no change notification across processes.
POLL_INTERVAL_SECONDS = 0.02


class LocalEventPublisher:
    """Routes events to partitions, splits them into batches of at most 1 MiB, appends them atomically."""

    def __init__(self, log: LocalEventLog) -> None:
        self._log = log
        self._router = PartitionRouter(log.partition_ids())

    @property
    def max_batch_bytes(self) -> int:
        return MAX_BATCH_BYTES

    def partition_ids(self) -> list[str]:
        return self._log.partition_ids()

    def warm_up(self) -> None:
        """The log is open and its partitions known once the publisher exists: nothing more to open."""

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult:
        """All of `events` or none of them: one publish call is one transaction on the local log."""
        batches = [
            (partition_id, batch)
            for partition_id, routed in self._router.group(events).items()
            for batch in split_batches(routed, MAX_BATCH_BYTES)
        ]
        return self._log.append(batches)

    def close(self) -> None:
        self._log.close()


class LocalEventConsumer:
    """Reads the local log as one member of a consumer group.

    On its own it reads whatever partitions it is asked for. Consumers that share a group's partitions
    call `claim_partitions` in their loop: it balances the partitions over the live consumers by leases
    (see `LocalEventLog.claim_partitions`), and from then on a checkpoint is accepted only while this
    consumer holds the partition's lease, so every event is checkpointed by exactly one consumer.
    """

    def __init__(
        self,
        log: LocalEventLog,
        consumer_group: str,
        starting_position: EventPosition = EARLIEST,
        *,
        resume_from_checkpoint: bool = True,
        owner_id: str | None = None,
    ) -> None:
        self._log = log
        self.consumer_group = consumer_group
        self.owner_id = owner_id or uuid.uuid4().hex
        self._starting_position = starting_position
        self._resume = resume_from_checkpoint
        self._cursors: dict[str, int] = {}
        self._owned: list[str] | None = None

    def partition_ids(self) -> list[str]:
        return self._log.partition_ids()

    def partition_info(self, partition_id: str) -> PartitionInfo:
        return self._log.partition_info(partition_id)

    def receive(self, partition_id: str, *, max_events: int, max_wait_seconds: float) -> list[ReceivedEvent]:
        cursor = self._cursors.get(partition_id)
        if cursor is None:
            cursor = self._cursors[partition_id] = self._first_sequence_number(partition_id)
        deadline = time.monotonic() + max_wait_seconds
        while True:
            events = self._log.read(partition_id, cursor, max_events)
            remaining = deadline - time.monotonic()
            if events or remaining <= 0:
                break
            time.sleep(min(POLL_INTERVAL_SECONDS, remaining))
        if events:
            self._cursors[partition_id] = events[-1].sequence_number + 1
        return events

    def _first_sequence_number(self, partition_id: str) -> int:
        if self._resume:
            checkpointed = self._log.checkpointed_sequence_number(self.consumer_group, partition_id)
            if checkpointed is not None:
                return checkpointed + 1
        position = self._starting_position
        if position.kind is PositionKind.SEQUENCE:
            return position.sequence_number
        if position.kind is PositionKind.TIME and position.enqueued_time is not None:
            return self._log.first_sequence_number_at(partition_id, position.enqueued_time)
        if position.kind is PositionKind.END:
            return self._log.partition_info(partition_id).last_enqueued_sequence_number + 1
        return 0  # start: reads begin at the oldest event still held

    def checkpoint(self, partition_id: str, sequence_number: int, offset: int) -> None:
        owner_id = self.owner_id if self._owned is not None else None
        self._log.checkpoint(self.consumer_group, partition_id, sequence_number, offset, owner_id=owner_id)

    def checkpointed_sequence_number(self, partition_id: str) -> int | None:
        return self._log.checkpointed_sequence_number(self.consumer_group, partition_id)

    def claim_partitions(self, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[str]:
        """Renew this consumer's leases and rebalance; the partitions it owns now.

        A partition it did not own at the previous call resumes from the group's checkpoint, which the
        previous owner may have moved meanwhile.
        """
        owned = self._log.claim_partitions(self.consumer_group, self.owner_id, lease_seconds)
        previously = set(self._owned or ())
        self._cursors = {
            partition_id: cursor
            for partition_id, cursor in self._cursors.items()
            if partition_id in previously and partition_id in owned
        }
        self._owned = owned
        return owned

    def close(self) -> None:
        try:
            if self._owned is not None:
                self._log.release_partitions(self.consumer_group, self.owner_id)
        finally:
            self._log.close()

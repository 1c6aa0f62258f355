"""What the consumer group has not processed yet: partitions against checkpoints, on either hub.

Two checkpoints exist per partition. The host's (the local log's own, or the blobs the Functions Event
Hubs extension writes) says where delivery resumes; paysim's `partition_checkpoints` row, committed in
the same transaction as the aggregates, says what has been counted, and is the truth for exactly-once.
Lag is measured from the database checkpoint, or from the host's when the database cannot be read.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

from paysim_cli.errors import PaysimError
from paysim_cli.hub.lag import (
    MAX_PARTITION_READERS,
    first_waiting_sequence_number,
    partition_lag,
    read_checkpoint_blobs,
)
from paysim_cli.hub.targets import HubTarget
from paysim_cli.hub.transport import EventPosition, PartitionInfo, PositionKind
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.db import Connection
    from paysim_cli.health.checks.base import CheckContext

# The container and blob names the Functions Event Hubs extension (and the SDK's BlobCheckpointStore)
# checkpoints in: {namespace}/{hub}/{consumer group}/checkpoint/{partition}, metadata `sequencenumber`.
FUNCTIONS_CHECKPOINT_CONTAINER = "azure-webjobs-eventhub"

CheckpointSource = Literal["database", "hub"]


def hub_target(settings: Settings) -> HubTarget:
    """The local event log for the local environment, Event Hubs for every other."""
    return HubTarget.LOCAL if settings.is_local else HubTarget.EVENTHUB


class HubView(Protocol):
    """The hub side of the backlog: partition properties, the host's checkpoints, event times."""

    def partitions(self) -> list[PartitionInfo]: ...

    def checkpoints(self) -> dict[str, int]: ...

    def enqueued_times(self, events: dict[str, int]) -> dict[str, datetime]:
        """The enqueued time of each partition's event at the given sequence number (when held)."""
        ...

    def close(self) -> None: ...


class LocalHubView:
    """The local event log: partitions, its consumer-group checkpoints, stored enqueued times."""

    def __init__(self, settings: Settings, consumer_group: str) -> None:
        from paysim_cli.hub.local_log import LocalEventLog

        self._log = LocalEventLog.open(settings.event_log_path)
        self._group = consumer_group

    def partitions(self) -> list[PartitionInfo]:
        return [self._log.partition_info(partition) for partition in self._log.partition_ids()]

    def checkpoints(self) -> dict[str, int]:
        found = {
            partition: self._log.checkpointed_sequence_number(self._group, partition)
            for partition in self._log.partition_ids()
        }
        return {partition: number for partition, number in found.items() if number is not None}

    def enqueued_times(self, events: dict[str, int]) -> dict[str, datetime]:
        found = {}
        for partition_id, sequence_number in events.items():
            read = self._log.read(partition_id, sequence_number, 1)
            if read:
                found[partition_id] = read[0].enqueued_time
        return found

    def close(self) -> None:
        self._log.close()


class EventHubView:
    """Event Hubs: partition properties through the SDK, checkpoints from the Functions host's blobs."""

    def __init__(self, settings: Settings, consumer_group: str, *, wait_seconds: float) -> None:
        from paysim_cli.hub.targets import open_consumer

        self._settings, self._group, self._wait = settings, consumer_group, wait_seconds
        self._consumer = open_consumer(settings, HubTarget.EVENTHUB, consumer_group=consumer_group)

    def partitions(self) -> list[PartitionInfo]:
        ids = self._consumer.partition_ids()
        with ThreadPoolExecutor(min(MAX_PARTITION_READERS, len(ids) or 1), "health-partitions") as pool:
            return list(pool.map(self._consumer.partition_info, ids))

    def checkpoints(self) -> dict[str, int]:
        return read_checkpoint_blobs(self._settings, self._group, FUNCTIONS_CHECKPOINT_CONTAINER)

    def enqueued_times(self, events: dict[str, int]) -> dict[str, datetime]:
        if not events:
            return {}
        # Each read opens a receiver (~0.5 s): every partition at once.
        with ThreadPoolExecutor(min(MAX_PARTITION_READERS, len(events)), "health-events") as pool:
            times = dict(zip(events, pool.map(self._enqueued_time, events, events.values()), strict=True))
        return {partition_id: moment for partition_id, moment in times.items() if moment is not None}

    def _enqueued_time(self, partition_id: str, sequence_number: int) -> datetime | None:
        from contextlib import closing

        from paysim_cli.hub.targets import open_consumer

        position = EventPosition(PositionKind.SEQUENCE, sequence_number=sequence_number)
        with closing(
            open_consumer(
                self._settings,
                HubTarget.EVENTHUB,
                consumer_group=self._group,
                starting_position=position,
                resume_from_checkpoint=False,
            )
        ) as reader:
            events = reader.receive(partition_id, max_events=1, max_wait_seconds=self._wait)
        return events[0].enqueued_time if events else None

    def close(self) -> None:
        self._consumer.close()


def open_hub_view(settings: Settings, consumer_group: str, *, wait_seconds: float = 2.0) -> HubView:
    if hub_target(settings) is HubTarget.LOCAL:
        return LocalHubView(settings, consumer_group)
    return EventHubView(settings, consumer_group, wait_seconds=wait_seconds)


@dataclass(frozen=True, slots=True)
class Committed:
    """A partition's row of partition_checkpoints."""

    sequence_number: int
    enqueued_time: datetime | None


def read_committed(connection: Connection, consumer_group: str) -> dict[str, Committed]:
    rows = connection.execute(
        "SELECT partition_id, last_sequence_number, last_enqueued_time FROM partition_checkpoints "
        "WHERE consumer_group = %s",
        (consumer_group,),
    ).fetchall()
    return {str(partition): Committed(int(number), enqueued) for partition, number, enqueued in rows}


@dataclass(frozen=True, slots=True)
class PartitionBacklog:
    partition_id: str
    last_enqueued_sequence_number: int
    host_checkpoint: int | None
    committed: int | None
    lag: int
    first_waiting: int  # sequence number of the oldest unprocessed event (meaningful when lag > 0)


@dataclass(frozen=True, slots=True)
class BacklogSample:
    """One look at every partition; `source` says which checkpoint the lag counts from."""

    taken_at: float  # time.monotonic()
    source: CheckpointSource
    partitions: list[PartitionBacklog]

    @property
    def total_lag(self) -> int:
        return sum(partition.lag for partition in self.partitions)


class BacklogReader:
    """Reads samples of the backlog; the hub view stays open between them, and the run's shared
    database connection serves them."""

    def __init__(self, context: CheckContext) -> None:
        settings = context.settings
        self.consumer_group = settings.consumer_group
        self.hub = open_hub_view(settings, self.consumer_group, wait_seconds=context.timeout / 2)
        self.database_error: PaysimError | None = None
        self._connection: Connection | None = None
        try:
            self._connection = context.database.get()
        except PaysimError as error:
            self.database_error = error

    def sample(self) -> BacklogSample:
        partitions = self.hub.partitions()
        host = self.hub.checkpoints()
        committed = self._committed()
        source: CheckpointSource = "hub" if committed is None else "database"
        rows = []
        for info in partitions:
            done = committed.get(info.partition_id) if committed is not None else None
            checkpoint = done.sequence_number if done is not None else None
            counted_from = host.get(info.partition_id) if committed is None else checkpoint
            rows.append(
                PartitionBacklog(
                    partition_id=info.partition_id,
                    last_enqueued_sequence_number=info.last_enqueued_sequence_number,
                    host_checkpoint=host.get(info.partition_id),
                    committed=checkpoint,
                    lag=partition_lag(info, counted_from),
                    first_waiting=first_waiting_sequence_number(info, counted_from),
                )
            )
        return BacklogSample(time.monotonic(), source, rows)

    def _committed(self) -> dict[str, Committed] | None:
        if self._connection is None:
            return None
        import psycopg

        try:
            return read_committed(self._connection, self.consumer_group)
        except psycopg.Error as error:
            self.database_error = PaysimError(
                "database_query_failed",
                f"cannot read partition_checkpoints: {' '.join(str(error).split())}",
                "run `paysim db migrate` (the table comes with migration 0003)",
            )
            return None

    def close(self) -> None:
        self.hub.close()  # the connection is the run's: SharedConnection closes it

    def __enter__(self) -> BacklogReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

"""The transport seam both the local event log and Azure Event Hubs implement.

Publishers route each event by explicit partition, by partition-key hash (the Event Hubs hash, so a key
lands on the same partition id locally and in Azure) or round-robin, and fill batches up to the
transport's maximum batch size; a batch to one partition is atomic. Failures surface as
`TransientHubError` (worth retrying with backoff) or `HubError` (retrying cannot help).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from paysim_cli.errors import ExitCode, PaysimError

MAX_EVENT_BYTES = 1024 * 1024
MAX_BATCH_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One event to publish: its body byte for byte, and how to route it."""

    body: bytes
    partition_key: str | None = None
    partition_id: str | None = None
    properties: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    # The AMQP endpoint's stored form of the message the event came in (hub/amqp/messages.py), kept by
    # the local log so the endpoint delivers it as it was sent; None for everyone else.
    amqp_message: bytes | None = None


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """One event as a consumer sees it, with its Event Hubs system properties."""

    body: bytes
    partition_id: str
    sequence_number: int
    offset: int
    enqueued_time: datetime
    partition_key: str | None = None
    properties: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    amqp_message: bytes | None = None  # as on OutgoingEvent: set for events the AMQP endpoint stored


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What one `publish` call delivered: events and batches per partition id."""

    events: int
    batches: int
    by_partition: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """Partition properties, for lag: the sequence range held and when the last event arrived."""

    partition_id: str
    beginning_sequence_number: int
    last_enqueued_sequence_number: int
    last_enqueued_offset: int
    last_enqueued_time: datetime | None
    is_empty: bool


class HubError(PaysimError):
    """A transport failure that retrying will not fix (bad request, too large, unauthorised...)."""

    def __init__(
        self, code: str, message: str, hint: str | None = None, *, exit_code: ExitCode = ExitCode.EXTERNAL
    ) -> None:
        super().__init__(code, message, hint, exit_code=exit_code)


class TransientHubError(HubError):
    """A transport failure worth retrying with backoff (throttled, timed out, connection lost...)."""


class PositionKind(StrEnum):
    START = "start"
    END = "end"
    SEQUENCE = "seq"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class EventPosition:
    """Where a consumer starts reading a partition that has no checkpoint in its consumer group.

    `start` is the oldest event held, `end` only events enqueued after the consumer opens the partition,
    `seq:N` the event with sequence number N (inclusive), `time:ISO` the first event enqueued at or after it.
    """

    kind: PositionKind
    sequence_number: int = 0
    enqueued_time: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> EventPosition:
        """`start`, `end`, `seq:N` or `time:ISO-8601` (naive times are UTC)."""
        name, _, value = text.strip().partition(":")
        try:
            kind = PositionKind(name.lower())
            if kind is PositionKind.SEQUENCE:
                number = int(value)
                if number < 0:
                    raise ValueError("sequence numbers start at 0")
                return cls(kind, sequence_number=number)
            if kind is PositionKind.TIME:
                moment = datetime.fromisoformat(value)
                return cls(kind, enqueued_time=moment if moment.tzinfo else moment.replace(tzinfo=UTC))
            if value:
                raise ValueError(f"{kind.value} takes no value")
        except ValueError as error:
            raise PaysimError(
                "invalid_position",
                f"invalid event position {text!r}",
                "use start, end, seq:N or time:ISO-8601 (e.g. time:2025-01-31T12:00:00Z)",
                exit_code=ExitCode.USAGE,
            ) from error
        return cls(kind)

    def __str__(self) -> str:
        if self.kind is PositionKind.SEQUENCE:
            return f"seq:{self.sequence_number}"
        if self.kind is PositionKind.TIME and self.enqueued_time is not None:
            return f"time:{self.enqueued_time.isoformat()}"
        return self.kind.value


EARLIEST = EventPosition(PositionKind.START)


class EventPublisher(Protocol):
    """Publishes events to a hub. Implementations: the local log and Azure Event Hubs."""

    @property
    def max_batch_bytes(self) -> int: ...

    def partition_ids(self) -> list[str]: ...

    def warm_up(self) -> None:
        """Open everything the first publish would (connections, links, partition ids) without sending,
        so a run's clock can start once every publisher is ready."""
        ...

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult: ...

    def close(self) -> None: ...


class EventConsumer(Protocol):
    """Reads one consumer group's events partition by partition, and records its checkpoints.

    A partition is read from the group's checkpoint (the event after it) when there is one, else from the
    consumer's starting `EventPosition`; then each `receive` continues where the previous one stopped.
    `receive` returns as soon as events are available, or an empty list after `max_wait_seconds`.
    """

    def partition_ids(self) -> list[str]: ...

    def partition_info(self, partition_id: str) -> PartitionInfo: ...

    def receive(
        self, partition_id: str, *, max_events: int, max_wait_seconds: float
    ) -> list[ReceivedEvent]: ...

    def checkpoint(self, partition_id: str, sequence_number: int, offset: int) -> None: ...

    def checkpointed_sequence_number(self, partition_id: str) -> int | None:
        """The sequence number of the group's last checkpoint in the partition; None when it has none."""
        ...

    def close(self) -> None: ...

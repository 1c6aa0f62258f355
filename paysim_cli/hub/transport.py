"""The transport seam both the local event log and Azure Event Hubs implement.

Publishers route each event by explicit partition, by partition-key hash (the Event Hubs hash, so a key
lands on the same partition id locally and in Azure) or round-robin, and fill batches up to the
transport's maximum batch size; a batch to one partition is atomic. Failures surface as
`TransientHubError` (worth retrying with backoff) or `HubError` (retrying cannot help).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(code, message, hint, exit_code=ExitCode.EXTERNAL)


class TransientHubError(HubError):
    """A transport failure worth retrying with backoff (throttled, timed out, connection lost...)."""


class EventPublisher(Protocol):
    """Publishes events to a hub. Implementations: the local log and Azure Event Hubs."""

    @property
    def max_batch_bytes(self) -> int: ...

    def partition_ids(self) -> list[str]: ...

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult: ...

    def close(self) -> None: ...


class EventConsumer(Protocol):
    """Reads one consumer group's events partition by partition, and records its checkpoints."""

    def partition_ids(self) -> list[str]: ...

    def partition_info(self, partition_id: str) -> PartitionInfo: ...

    def receive(
        self, partition_id: str, *, max_events: int, max_wait_seconds: float
    ) -> list[ReceivedEvent]: ...

    def checkpoint(self, partition_id: str, sequence_number: int, offset: int) -> None: ...

    def close(self) -> None: ...

"""Partition routing and batch sizing shared by the local log and the Event Hubs publisher.

Partition keys are hashed with the azure-eventhub SDK's own resolver (Jenkins lookup3, the SDK's buffered
producer uses it), so a key lands on the same partition id locally and through paysim's Event Hubs
publisher, which resolves partitions client-side too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import cycle

import orjson

from paysim_cli.errors import ExitCode
from paysim_cli.hub.transport import MAX_EVENT_BYTES, HubError, OutgoingEvent


@lru_cache(maxsize=1 << 16)
def partition_index_for_key(partition_key: str, partition_count: int) -> int:
    """The index into the hub's partition ids that the SDK's resolver picks for `partition_key`.

    Cached: keys repeat (merchants, customers) and the pure-Python hash costs a few microseconds.
    """
    from azure.eventhub._buffered_producer._partition_resolver import PartitionResolver

    # The resolver returns an item of the sequence it was given; a range makes that item the index.
    resolver = PartitionResolver(range(partition_count))  # type: ignore[no-untyped-call]
    return int(resolver.get_partition_id_by_partition_key(partition_key))  # type: ignore[no-untyped-call]


class PartitionRouter:
    """Chooses each event's partition: explicit id, else partition-key hash, else round-robin."""

    def __init__(self, partition_ids: Sequence[str]) -> None:
        self.partition_ids: list[str] = list(partition_ids)
        self._known = frozenset(self.partition_ids)
        self._round_robin = cycle(self.partition_ids)

    def route(self, event: OutgoingEvent) -> str:
        if event.partition_id is not None:
            if event.partition_id not in self._known:
                raise unknown_partition(event.partition_id, self.partition_ids)
            return event.partition_id
        if event.partition_key is not None:
            return self.partition_ids[partition_index_for_key(event.partition_key, len(self.partition_ids))]
        return next(self._round_robin)

    def group(self, events: Sequence[OutgoingEvent]) -> dict[str, list[OutgoingEvent]]:
        """Events by partition id, each list in the order given."""
        by_partition: dict[str, list[OutgoingEvent]] = {}
        for event in events:
            by_partition.setdefault(self.route(event), []).append(event)
        return by_partition


def unknown_partition(partition_id: str, partition_ids: Sequence[str]) -> HubError:
    return HubError(
        "unknown_partition",
        f"partition {partition_id!r} does not exist",
        f"use one of: {', '.join(partition_ids)}",
        exit_code=ExitCode.USAGE,
    )


def encode_properties(event: OutgoingEvent) -> bytes | None:
    return orjson.dumps(dict(event.properties)) if event.properties else None


def event_size(event: OutgoingEvent) -> int:
    """Bytes an event counts against the limits: body, partition key and encoded properties."""
    size = len(event.body)
    if event.partition_key:
        size += len(event.partition_key.encode())
    if event.properties:
        size += len(orjson.dumps(dict(event.properties)))
    return size


def event_too_large(size: int, limit: int = MAX_EVENT_BYTES, *, subject: str = "an event") -> HubError:
    return HubError(
        "event_too_large",
        f"{subject} has {size} bytes, over the {limit}-byte limit per event",
        "split the payload, or store it elsewhere and send a reference",
        exit_code=ExitCode.CONFIG,  # bad input, like a broken input file
    )


def split_batches(events: Sequence[OutgoingEvent], max_batch_bytes: int) -> Iterator[list[OutgoingEvent]]:
    """Consecutive runs of `events` whose sizes add up to at most `max_batch_bytes` each."""
    batch: list[OutgoingEvent] = []
    batch_bytes = 0
    for event in events:
        size = event_size(event)
        if size > min(max_batch_bytes, MAX_EVENT_BYTES):
            raise event_too_large(size, min(max_batch_bytes, MAX_EVENT_BYTES))
        if batch and batch_bytes + size > max_batch_bytes:
            yield batch
            batch, batch_bytes = [], 0
        batch.append(event)
        batch_bytes += size
    if batch:
        yield batch

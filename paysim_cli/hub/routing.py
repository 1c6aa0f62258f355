"""Partition routing and batch sizing shared by the local log and the Event Hubs publisher.

Partition keys are hashed with the azure-eventhub SDK's own resolver (Jenkins lookup3, the SDK's buffered
producer uses it), so a key lands on the same partition id locally and through paysim's Event Hubs
publisher, which resolves partitions client-side too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import cycle
from typing import Any

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


# From how many keys hashing them together with numpy beats hashing each (numpy's cost per call).
HASH_TOGETHER_FROM = 16


def partition_indexes(keys: Sequence[str], partition_count: int) -> list[int]:
    """`partition_index_for_key` of each key, the SDK's lookup3 hash computed for all keys of one length
    at once with numpy (the pure-Python hash costs ~12 µs a key, most of a simulated event's routing, and
    keys such as customer ids rarely repeat within a cache's reach). Tests compare it with the SDK's."""
    import numpy as np

    indexes = [0] * len(keys)
    by_length: dict[int, list[int]] = {}
    for position, key in enumerate(keys):
        by_length.setdefault(len(key), []).append(position)
    for length, positions in by_length.items():
        if length == 0:  # the SDK hashes an empty key to 0
            continue
        # Code points (the SDK hashes characters, not UTF-8 bytes), padded with zeros to whole words.
        points = np.frombuffer("".join(keys[p] for p in positions).encode("utf-32-le"), dtype=np.uint32)
        padded = np.zeros((len(positions), -(-length // 12) * 12), dtype=np.uint32)
        padded[:, :length] = points.reshape(len(positions), length)
        words = padded[:, 0::4] + (padded[:, 1::4] << 8) + (padded[:, 2::4] << 16) + (padded[:, 3::4] << 24)
        c, b = _lookup3(words, length)
        signed = ((c ^ b) & 0xFFFF).astype(np.int16).astype(np.int64)
        for position, index in zip(positions, np.abs(signed % partition_count).tolist(), strict=True):
            indexes[position] = index
    return indexes


def _lookup3(words: Any, length: int) -> tuple[Any, Any]:
    """Jenkins' lookup3 `hashlittle2` over rows of 32-bit words (three per 12 characters), as the SDK's
    `compute_hash` does it: uint32 arithmetic wraps as its masking does."""
    import numpy as np

    def rot(x: Any, k: int) -> Any:
        return (x << np.uint32(k)) | (x >> np.uint32(32 - k))

    a = b = c = np.full(len(words), (0xDEADBEEF + length) & 0xFFFFFFFF, dtype=np.uint32)
    blocks = words.shape[1] // 3
    for block in range(blocks):
        a, b, c = a + words[:, 3 * block], b + words[:, 3 * block + 1], c + words[:, 3 * block + 2]
        if block == blocks - 1:
            break
        a = (a - c) ^ rot(c, 4)
        c = c + b
        b = (b - a) ^ rot(a, 6)
        a = a + c
        c = (c - b) ^ rot(b, 8)
        b = b + a
        a = (a - c) ^ rot(c, 16)
        c = c + b
        b = (b - a) ^ rot(a, 19)
        a = a + c
        c = (c - b) ^ rot(b, 4)
        b = b + a
    c = (c ^ b) - rot(b, 14)
    a = (a ^ c) - rot(c, 11)
    b = (b ^ a) - rot(a, 25)
    c = (c ^ b) - rot(b, 16)
    a = (a ^ c) - rot(c, 4)
    b = (b ^ a) - rot(a, 14)
    c = (c ^ b) - rot(b, 24)
    return c, b


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
        """Events by partition id, each list in the order given (routed as `route` does, the keys of
        events without a partition id hashed together)."""
        keyed = [e.partition_key for e in events if e.partition_id is None and e.partition_key is not None]
        together = len(keyed) >= HASH_TOGETHER_FROM
        hashed = iter(partition_indexes(keyed, len(self.partition_ids)) if together else [])
        by_partition: dict[str, list[OutgoingEvent]] = {}
        for event in events:
            if together and event.partition_id is None and event.partition_key is not None:
                partition_id = self.partition_ids[next(hashed)]
            else:
                partition_id = self.route(event)
            by_partition.setdefault(partition_id, []).append(event)
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


def event_size(event: OutgoingEvent, encoded_properties: bytes | None = None) -> int:
    """Bytes an event counts against the limits: body, partition key and encoded properties (given
    when the caller has encoded them already)."""
    size = len(event.body)
    if event.partition_key:
        size += len(event.partition_key.encode())
    if encoded_properties is not None:
        size += len(encoded_properties)
    elif event.properties:
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

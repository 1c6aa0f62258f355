"""Event Hubs semantics for the AMQP endpoint over the local event log: entity addresses, publishing,
consumer start positions, `$management` reads and exclusive (owner-level) receivers.

SQLite calls block, so the log is used from two worker threads, each with its own connection: one
appends, one reads. Appends made through this endpoint wake its waiting receivers at once; appends by
other processes (paysim's own writer) are seen by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import cycle
from pathlib import Path
from typing import Any, Protocol, TypeVar

from paysim_cli.hub.amqp.codec import (
    LONG,
    STRING,
    TIMESTAMP,
    TYPE,
    VALUE,
    AmqpError,
    string_array,
    text,
    timestamp_ms,
)
from paysim_cli.hub.amqp.messages import NO_TIME_MS, decode_events
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.routing import partition_index_for_key
from paysim_cli.hub.transport import (
    MAX_EVENT_BYTES,
    HubError,
    PartitionInfo,
    ReceivedEvent,
    TransientHubError,
)

T = TypeVar("T")
logger = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = MAX_EVENT_BYTES
# Event Hubs allows this many concurrent readers per partition and consumer group.
MAX_READERS_PER_PARTITION = 5
# Bytes published between checkpoints of the log's write-ahead log beside the writer (~2.5 MB of log).
WAL_CHECKPOINT_BYTES = 1024 * 1024
# The write-ahead log's pages at which the writer checkpoints it itself and it starts over: 64 MiB, the
# size the log keeps it to (journal_size_limit), ~6 s at 10,000 events/s.
WRITER_CHECKPOINT_PAGES = 16_384
# How often a caught-up receiver looks for events appended by other processes.
POLL_INTERVAL_SECONDS = 0.05
_SELECTOR = re.compile(
    r"^\s*amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*"
    r"'?([^']*)'?\s*$",
    re.IGNORECASE,
)
_SIZE_CODES = frozenset({"event_too_large", "batch_too_large"})


class ServiceNode(StrEnum):
    CBS = "$cbs"
    MANAGEMENT = "$management"


@dataclass(frozen=True, slots=True)
class PublishNode:
    """The hub (`partition_id` None: the endpoint picks the partition) or one of its partitions."""

    partition_id: str | None


@dataclass(frozen=True, slots=True)
class ConsumerNode:
    consumer_group: str
    partition_id: str


Node = ServiceNode | PublishNode | ConsumerNode


def not_found(entity: str) -> AmqpError:
    return AmqpError(b"amqp:not-found", f"The messaging entity '{entity}' could not be found.")


class _LogWorker:
    """One thread with its own connection to the log (sqlite3 connections stay in their thread)."""

    def __init__(self, path: Path, name: str, *, checkpoint_pages: int | None = None) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._log: LocalEventLog | None = None
        # Set: its commits checkpoint the write-ahead log only past that many pages (_WalCheckpointer).
        self._checkpoint_pages = checkpoint_pages

    async def run(self, operation: Callable[[LocalEventLog], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, operation)

    def _call(self, operation: Callable[[LocalEventLog], T]) -> T:
        if self._log is None:
            self._log = LocalEventLog.open(self._path)
            if self._checkpoint_pages is not None:
                self._log.defer_wal_checkpoints(self._checkpoint_pages)
        return operation(self._log)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()

    def close(self) -> None:
        self._executor.submit(self._close_log).result()
        self._executor.shutdown()


class ExclusiveReceiver(Protocol):
    """A receiving link as the owner-level rules see it."""

    @property
    def owner_level(self) -> int | None: ...

    def disconnect(self, failure: AmqpError) -> None: ...


class ReceiverRegistry:
    """The receivers of each (consumer group, partition), admitted by the service's owner-level rules:
    a receiver with an owner level (epoch) disconnects those with a lower or equal one and those with
    none; a lower one, or one without while an owner holds the partition, is refused. All with
    `amqp:link:stolen`, the service's condition."""

    def __init__(self) -> None:
        self._receivers: dict[tuple[str, str], list[ExclusiveReceiver]] = {}

    def admit(self, node: ConsumerNode, receiver: ExclusiveReceiver) -> None:
        key = (node.consumer_group.lower(), node.partition_id)
        current = self._receivers.setdefault(key, [])
        levels = [other.owner_level for other in current if other.owner_level is not None]
        highest = max(levels, default=None)
        level = receiver.owner_level
        if level is None and highest is not None:
            raise _stolen(
                f"At least one receiver for the endpoint is created with epoch of '{highest}', and so "
                "non-epoch receiver is not allowed. Either reconnect with a higher epoch, or make sure all "
                "epoch receivers are closed or disconnected."
            )
        if level is not None and highest is not None and highest > level:
            raise _stolen(
                f"Receiver 'nil' with a higher epoch '{highest}' already exists. Receiver 'nil' with epoch "
                f"{level} cannot be created. Make sure you are creating receiver with increasing epoch value "
                "to ensure connectivity, or ensure all old epoch receivers are closed or disconnected."
            )
        if level is not None:
            for other in list(current):
                current.remove(other)
                other.disconnect(_displaced(level, other.owner_level))
        if len(current) >= MAX_READERS_PER_PARTITION:
            raise AmqpError(
                b"amqp:resource-limit-exceeded",
                "Exceeded the maximum number of allowed receivers per partition in a consumer group which is "
                f"{MAX_READERS_PER_PARTITION}.",
            )
        current.append(receiver)

    def remove(self, node: ConsumerNode, receiver: ExclusiveReceiver) -> None:
        current = self._receivers.get((node.consumer_group.lower(), node.partition_id), [])
        if receiver in current:
            current.remove(receiver)


def _stolen(description: str) -> AmqpError:
    return AmqpError(b"amqp:link:stolen", description)


def _displaced(level: int, previous: int | None) -> AmqpError:
    return _stolen(
        f"New receiver 'nil' with higher epoch of '{level}' is created hence current receiver 'nil' with "
        f"epoch '{'nil' if previous is None else previous}' is getting disconnected. If you are recreating "
        "the receiver, make sure a higher epoch is used."
    )


class _WalCheckpointer:
    """Checkpoints the log's write-ahead log on a thread of its own, so that publishes seldom wait for it.

    Left to SQLite, the commit that takes the write-ahead log past 1,000 pages (~4 MB, every ~0.3 s at
    10,000 events/s) checkpoints it, and that publish, with every one queued behind it on the writer,
    waited 30-60 ms (ADR 0022). Here, after every WAL_CHECKPOINT_BYTES published, a passive checkpoint
    copies the log into the database beside the writes (SQLite lets one run while others write); the
    writer's commits checkpoint only past WRITER_CHECKPOINT_PAGES, finding little left to copy, and
    that checkpoint lets the log start over (one beside continuous writes never can)."""

    def __init__(self, worker: _LogWorker) -> None:
        self._worker = worker
        self._pending_bytes = 0
        self._running: asyncio.Task[None] | None = None

    def appended(self, size: int) -> None:
        self._pending_bytes += size
        if self._pending_bytes >= WAL_CHECKPOINT_BYTES and (self._running is None or self._running.done()):
            self._pending_bytes = 0
            self._running = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await self._worker.run(lambda log: log.checkpoint_wal())
        except HubError as failure:  # the next one retries; meanwhile the write-ahead log grows
            logger.warning("%s", failure.message)

    def close(self) -> None:
        self._worker.close()


class EventHub:
    """One event hub, named `name`, served from the local event log at `log_path`."""

    def __init__(self, log_path: Path, name: str) -> None:
        with LocalEventLog.open(log_path) as log:
            self.partition_ids = log.partition_ids()
        self.name = name
        self.created_at = _created_at(log_path)
        self.receivers = ReceiverRegistry()
        self._writer = _LogWorker(log_path, "amqp-log-writer", checkpoint_pages=WRITER_CHECKPOINT_PAGES)
        self._reader = _LogWorker(log_path, "amqp-log-reader")
        self._checkpointer = _WalCheckpointer(_LogWorker(log_path, "amqp-log-checkpointer"))
        self._round_robin = cycle(self.partition_ids)
        self._appended: dict[str, asyncio.Event] = {}

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
        self._checkpointer.close()

    def resolve(self, address: str) -> Node:
        """The entity a link address names: `$cbs`, `$management`, `HUB`, `HUB/Partitions/N` or
        `HUB/ConsumerGroups/G/Partitions/N` (with or without `amqps://host`)."""
        path = address.split("://", 1)[1].partition("/")[2] if "://" in address else address
        parts = [part for part in path.split("/") if part]
        if len(parts) == 1 and parts[0].lower() in (ServiceNode.CBS, ServiceNode.MANAGEMENT):
            return ServiceNode(parts[0].lower())
        if not parts or parts[0].lower() != self.name.lower():
            raise not_found(path)
        shape = [part.lower() for part in parts[1::2]]
        if shape == [] and len(parts) == 1:
            return PublishNode(None)
        if shape == ["partitions"] and len(parts) == 3:
            return PublishNode(self._partition(parts[2], path))
        if shape == ["consumergroups", "partitions"] and len(parts) == 5:
            return ConsumerNode(parts[2], self._partition(parts[4], path))
        raise not_found(path)

    def _partition(self, partition_id: str, path: str) -> str:
        if partition_id not in self.partition_ids:
            raise not_found(path)
        return partition_id

    async def publish(self, node: PublishNode, payload: bytes, message_format: int) -> None:
        """Append the events of one delivery, all to one partition: the link's, the partition key's
        (hashed as the log and the SDK hash it), else the next in turn."""
        partition_key, events = decode_events(payload, message_format)
        if not events:
            return
        if node.partition_id is not None:
            partition_id = node.partition_id
        elif partition_key is not None:
            partition_id = self.partition_ids[partition_index_for_key(partition_key, len(self.partition_ids))]
        else:
            partition_id = next(self._round_robin)
        try:
            await self._writer.run(lambda log: log.append([(partition_id, events)]))
        except TransientHubError as failure:
            raise AmqpError(b"com.microsoft:server-busy", failure.message) from failure
        except HubError as failure:
            condition = (
                b"amqp:link:message-size-exceeded" if failure.code in _SIZE_CODES else b"amqp:internal-error"
            )
            raise AmqpError(condition, failure.message) from failure
        self._checkpointer.appended(len(payload))
        appended = self._appended.pop(partition_id, None)
        if appended is not None:
            appended.set()

    async def wait_for_events(self, partition_id: str, timeout: float = POLL_INTERVAL_SECONDS) -> None:
        """Until this endpoint appends to the partition, or `timeout` passes (another process may have)."""
        appended = self._appended.setdefault(partition_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await appended.wait()

    async def read(self, partition_id: str, sequence_number: int, max_events: int) -> list[ReceivedEvent]:
        return await self._reader.run(lambda log: log.read(partition_id, sequence_number, max_events))

    async def read_with_info(
        self, partition_id: str, sequence_number: int, max_events: int
    ) -> tuple[list[ReceivedEvent], PartitionInfo]:
        """Events as `read`, and the partition's properties as of the same moment (runtime metrics)."""
        return await self._reader.run(
            lambda log: (
                log.read(partition_id, sequence_number, max_events),
                log.partition_info(partition_id),
            )
        )

    async def start_sequence_number(self, partition_id: str, selector: str | None) -> int:
        """The first sequence number a receiver with this selector filter gets: offsets (`-1` the start,
        `@latest` after the last event), sequence numbers and enqueued times (ms), `>` or `>=`."""
        if selector is None:
            return await self._reader.run(
                lambda log: log.partition_info(partition_id).beginning_sequence_number
            )
        match = _SELECTOR.match(selector)
        if match is None:
            raise AmqpError(b"com.microsoft:argument-error", f"unsupported selector filter {selector!r}")
        annotation, operator, value = match.group(1).lower(), match.group(2), match.group(3)
        inclusive = operator == ">="
        try:
            if annotation == "x-opt-offset":
                return await self._reader.run(
                    lambda log: _first_after_offset(log, partition_id, value, inclusive)
                )
            number = int(value)
        except ValueError as failure:
            raise AmqpError(
                b"com.microsoft:argument-error", f"invalid value in selector {selector!r}"
            ) from failure
        if annotation == "x-opt-sequence-number":
            return max(number if inclusive else number + 1, 0)
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            milliseconds=number if inclusive else number + 1
        )
        return await self._reader.run(lambda log: log.first_sequence_number_at(partition_id, moment))

    async def management(self, properties: dict[str, Any]) -> tuple[int, str, Any]:
        """A `$management` READ: (status code, description, the response body)."""
        operation, kind = text(properties.get("operation", "")), text(properties.get("type", ""))
        name = text(properties.get("name", ""))
        if operation != "READ" or kind not in ("com.microsoft:eventhub", "com.microsoft:partition"):
            return 400, f"operation {operation!r} on {kind!r} is not supported", None
        if name.lower() != self.name.lower():
            return 404, f"The messaging entity '{name}' could not be found.", None
        if kind == "com.microsoft:eventhub":
            return 200, "OK", self._hub_properties()
        partition_id = text(properties.get("partition", ""))
        if partition_id not in self.partition_ids:
            return 404, f"The messaging entity '{name}/Partitions/{partition_id}' could not be found.", None
        info = await self._reader.run(lambda log: log.partition_info(partition_id))
        return (
            200,
            "OK",
            {
                "name": {TYPE: STRING, VALUE: self.name},
                "partition": {TYPE: STRING, VALUE: partition_id},
                "begin_sequence_number": {TYPE: LONG, VALUE: info.beginning_sequence_number},
                "last_enqueued_sequence_number": {TYPE: LONG, VALUE: info.last_enqueued_sequence_number},
                "last_enqueued_offset": {TYPE: STRING, VALUE: str(info.last_enqueued_offset)},
                "last_enqueued_time_utc": {
                    TYPE: TIMESTAMP,
                    VALUE: NO_TIME_MS
                    if info.last_enqueued_time is None
                    else timestamp_ms(info.last_enqueued_time),
                },
                "is_partition_empty": info.is_empty,
            },
        )

    def _hub_properties(self) -> dict[str, Any]:
        return {
            "name": {TYPE: STRING, VALUE: self.name},
            "created_at": {TYPE: TIMESTAMP, VALUE: timestamp_ms(self.created_at)},
            "partition_count": len(self.partition_ids),
            "partition_ids": string_array(self.partition_ids),
        }


def _first_after_offset(log: LocalEventLog, partition_id: str, offset: str, inclusive: bool) -> int:
    """Binary search: offsets strictly increase with sequence numbers, and the log has no gaps."""
    info = log.partition_info(partition_id)
    end = info.last_enqueued_sequence_number + 1
    if offset == "@latest":
        return end
    target = int(offset)
    low = info.beginning_sequence_number
    high = end
    while low < high:
        middle = (low + high) // 2
        found = log.read(partition_id, middle, 1)
        if found and (found[0].offset > target or (inclusive and found[0].offset == target)):
            high = middle
        else:
            low = middle + 1
    return low


def _created_at(log_path: Path) -> datetime:
    """When this endpoint first served the log (the log itself keeps no creation time): recorded next
    to it, so `created_at` stays put across restarts and goes with `local reset`."""
    record = log_path.with_name(log_path.name + ".created")
    with contextlib.suppress(FileExistsError), record.open("x", encoding="utf-8") as handle:
        handle.write(datetime.now(UTC).isoformat())
    return datetime.fromisoformat(record.read_text(encoding="utf-8"))

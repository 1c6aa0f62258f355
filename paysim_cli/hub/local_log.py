"""The local event log: an embedded stand-in for Event Hubs on SQLite in WAL mode (docs/adr/0002).

Each partition is its own table whose rowid is the sequence number, so appends stay at the right edge
of the b-tree and a read is a rowid range scan. Every write runs in a `BEGIN IMMEDIATE` transaction that
allocates sequence numbers and offsets from the `partitions` row it updates, so concurrent producer
processes serialise on SQLite's write lock and can neither collide nor leave gaps.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType, TracebackType

import orjson

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.routing import encode_properties, event_size, event_too_large, unknown_partition
from paysim_cli.hub.transport import (
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    HubError,
    OutgoingEvent,
    PartitionInfo,
    PublishResult,
    ReceivedEvent,
    TransientHubError,
)

# 2 added each event's stored AMQP message (events_N.message); version 1 logs are upgraded in place.
SCHEMA_VERSION = 2
MAX_PARTITIONS = 1024
# How long a writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_PROPERTIES: Mapping[str, str | int | float | bool] = MappingProxyType({})

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS partitions (
        partition_id INTEGER PRIMARY KEY,
        next_sequence_number INTEGER NOT NULL DEFAULT 0,
        next_offset INTEGER NOT NULL DEFAULT 0,
        last_offset INTEGER NOT NULL DEFAULT -1,
        last_enqueued_us INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        consumer_group TEXT NOT NULL,
        partition_id INTEGER NOT NULL,
        sequence_number INTEGER NOT NULL,
        byte_offset INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        PRIMARY KEY (consumer_group, partition_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS consumers (
        consumer_group TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        expires_us INTEGER NOT NULL,
        PRIMARY KEY (consumer_group, owner_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS ownership (
        consumer_group TEXT NOT NULL,
        partition_id INTEGER NOT NULL,
        owner_id TEXT NOT NULL,
        expires_us INTEGER NOT NULL,
        PRIMARY KEY (consumer_group, partition_id)
    ) WITHOUT ROWID""",
)
_EVENTS_TABLE = """CREATE TABLE IF NOT EXISTS events_{index} (
    sequence_number INTEGER PRIMARY KEY,
    byte_offset INTEGER NOT NULL,
    enqueued_us INTEGER NOT NULL,
    partition_key TEXT,
    properties BLOB,
    body BLOB NOT NULL,
    message BLOB
)"""
_EVENT_COLUMNS = "sequence_number, byte_offset, enqueued_us, partition_key, properties, body, message"


def _now_us() -> int:
    return time.time_ns() // 1000


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _to_datetime(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        # WAL makes a commit an append to the log; NORMAL skips its fsync (ADR 0002: durable across
        # process crashes, the last commits may be lost on power loss).
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA journal_size_limit=67108864")
    except sqlite3.DatabaseError:
        connection.close()
        raise
    return connection


def _unreadable(path: Path, cause: sqlite3.DatabaseError | None) -> PaysimError:
    return PaysimError(
        "hub_unreadable",
        f"{path} is not a paysim event log" + (f": {cause}" if cause else ""),
        "check that the path is the log's (event_log_path) and that no other program wrote to it; "
        "only if it is damaged beyond use, `paysim local reset --yes` starts over (it deletes every "
        "event, table and blob of the local stack)",
        exit_code=ExitCode.UNAVAILABLE,
    )


@dataclass(frozen=True, slots=True)
class PartitionLease:
    """A consumer's claim on a partition; it renews it about once a second while it runs."""

    partition_id: str
    owner_id: str
    expires_at: datetime


class LocalEventLog:
    """A partitioned, append-only event log in one SQLite file, shared by any number of processes."""

    def __init__(self, path: Path, connection: sqlite3.Connection, partition_count: int) -> None:
        """Use `create` or `open`."""
        self.path = path
        self._db = connection
        self._ids = [str(index) for index in range(partition_count)]
        self._index = {partition_id: index for index, partition_id in enumerate(self._ids)}

    @classmethod
    def create(cls, path: Path, partitions: int) -> LocalEventLog:
        """Create the log with `partitions` partitions, or open it if it already has that many."""
        if not 1 <= partitions <= MAX_PARTITIONS:
            raise PaysimError(
                "invalid_partition_count",
                f"a hub has 1 to {MAX_PARTITIONS} partitions, not {partitions}",
                "set hub_partitions (PAYSIM_HUB_PARTITIONS) within that range",
                exit_code=ExitCode.CONFIG,
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = _connect(path)
        except sqlite3.DatabaseError as error:
            raise _unreadable(path, error) from error
        log = cls(path, connection, partitions)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            with log._transaction():
                for statement in _SCHEMA:
                    connection.execute(statement)
                existing = log._meta("partition_count")
                if existing is None:
                    log._initialise(partitions)
                elif int(existing) != partitions:
                    raise PaysimError(
                        "hub_partition_mismatch",
                        f"the local event log {path} has {existing} partitions, not {partitions}",
                        f"set hub_partitions to {existing}, or recreate the log: `paysim local reset --yes`",
                        exit_code=ExitCode.CONFLICT,
                    )
                else:
                    log._upgrade()
        except BaseException:
            connection.close()
            raise
        return log

    @classmethod
    def open(cls, path: Path) -> LocalEventLog:
        """Open an existing log; `hub_not_found` when there is none."""
        if not path.is_file():
            raise PaysimError(
                "hub_not_found",
                f"no local event log at {path}",
                "run paysim local up",
                exit_code=ExitCode.UNAVAILABLE,
            )
        connection: sqlite3.Connection | None = None
        cause: sqlite3.DatabaseError | None = None
        try:
            connection = _connect(path)
            row = connection.execute("SELECT value FROM meta WHERE key = 'partition_count'").fetchone()
            if row is not None:
                log = cls(path, connection, int(row[0]))
                if log._meta("schema_version") != str(SCHEMA_VERSION):
                    with log._transaction():
                        log._upgrade()
                return log
        except sqlite3.DatabaseError as error:
            cause = error
        except BaseException:
            if connection is not None:
                connection.close()
            raise
        if connection is not None:
            connection.close()
        raise _unreadable(path, cause) from cause

    def _initialise(self, partitions: int) -> None:
        self._db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("schema_version", str(SCHEMA_VERSION)), ("partition_count", str(partitions))],
        )
        for index in range(partitions):
            self._db.execute(_EVENTS_TABLE.format(index=index))
            self._db.execute("INSERT INTO partitions (partition_id) VALUES (?)", (index,))

    def _upgrade(self) -> None:
        """Bring a log written by an older paysim to SCHEMA_VERSION, in the caller's write transaction
        (so concurrent openers upgrade it once). Adding a nullable column rewrites no rows."""
        version = int(self._meta("schema_version") or 1)
        if version > SCHEMA_VERSION:
            raise PaysimError(
                "hub_schema_newer",
                f"the local event log {self.path} has schema version {version}; this paysim knows "
                f"{SCHEMA_VERSION}",
                "upgrade paysim, or recreate the log with `paysim local reset --yes`",
                exit_code=ExitCode.CONFLICT,
            )
        if version < 2:
            for index in range(len(self._ids)):
                self._db.execute(f"ALTER TABLE events_{index} ADD COLUMN message BLOB")
        if version < SCHEMA_VERSION:
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @contextmanager
    def _transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
        """A write (`BEGIN IMMEDIATE`) or a consistent read (`BEGIN`); storage errors become HubErrors."""
        try:
            self._db.execute(begin)
            try:
                yield
                self._db.execute("COMMIT")
            finally:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise TransientHubError(
                    "hub_busy",
                    f"the local event log {self.path} stayed locked for {BUSY_TIMEOUT_SECONDS:.0f} s",
                    "another process holds a long transaction on it; retry",
                ) from error
            raise HubError(
                "hub_storage_error",
                f"local event log {self.path}: {error}",
                f"free disk space or fix the permissions of {self.path.parent}, then retry: the events "
                "already in the log are kept",
            ) from error

    def _partition_index(self, partition_id: str) -> int:
        try:
            return self._index[partition_id]
        except KeyError:
            raise unknown_partition(partition_id, self._ids) from None

    def partition_ids(self) -> list[str]:
        return list(self._ids)

    def append(self, batches: Sequence[tuple[str, Sequence[OutgoingEvent]]]) -> PublishResult:
        """Append (partition id, events) batches, all in one transaction: every event lands or none does.

        Each event is at most 1 MiB and each batch at most 1 MiB (body, partition key and properties), as
        in Event Hubs. All events of one call share one enqueued time, never earlier than the partition's
        last, so enqueued times never decrease within a partition.
        """
        prepared: list[tuple[int, list[tuple[int, str | None, bytes | None, bytes, bytes | None]]]] = []
        for partition_id, events in batches:
            rows = []
            batch_bytes = 0
            for event in events:
                properties = encode_properties(event)
                size = event_size(event, properties)
                if size > MAX_EVENT_BYTES:
                    raise event_too_large(size)
                batch_bytes += size
                rows.append((size, event.partition_key, properties, event.body, event.amqp_message))
            if batch_bytes > MAX_BATCH_BYTES:
                raise HubError(
                    "batch_too_large",
                    f"a batch of {batch_bytes} bytes exceeds the {MAX_BATCH_BYTES}-byte limit per batch",
                    "send fewer events per batch (publishers split batches by size)",
                )
            prepared.append((self._partition_index(partition_id), rows))

        by_partition: dict[str, int] = {}
        now_us = _now_us()
        with self._transaction():
            for index, rows in prepared:
                sequence_number, offset, last_offset, last_us = self._db.execute(
                    "SELECT next_sequence_number, next_offset, last_offset, last_enqueued_us "
                    "FROM partitions WHERE partition_id = ?",
                    (index,),
                ).fetchone()
                enqueued_us = max(now_us, last_us or 0)
                records = []
                for size, partition_key, properties, body, message in rows:
                    records.append(
                        (sequence_number, offset, enqueued_us, partition_key, properties, body, message)
                    )
                    sequence_number += 1
                    last_offset = offset
                    # At least one byte per event, so offsets strictly increase like Event Hubs'.
                    offset += size or 1
                self._db.executemany(
                    f"INSERT INTO events_{index} ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", records
                )
                self._db.execute(
                    "UPDATE partitions SET next_sequence_number = ?, next_offset = ?, last_offset = ?, "
                    "last_enqueued_us = ? WHERE partition_id = ?",
                    (sequence_number, offset, last_offset, enqueued_us, index),
                )
                partition_id = self._ids[index]
                by_partition[partition_id] = by_partition.get(partition_id, 0) + len(records)
        return PublishResult(
            events=sum(by_partition.values()), batches=len(prepared), by_partition=by_partition
        )

    def read(self, partition_id: str, from_sequence_number: int, max_events: int) -> list[ReceivedEvent]:
        """Up to `max_events` events from `from_sequence_number` on (or the oldest held, if later)."""
        index = self._partition_index(partition_id)
        with self._transaction("BEGIN"):
            rows = self._db.execute(
                f"SELECT {_EVENT_COLUMNS} "
                f"FROM events_{index} WHERE sequence_number >= ? ORDER BY sequence_number LIMIT ?",
                (from_sequence_number, max_events),
            ).fetchall()
        events = []
        enqueued_us = -1
        enqueued_time = _EPOCH
        for sequence_number, offset, row_us, partition_key, properties, body, message in rows:
            if row_us != enqueued_us:  # a batch shares one enqueued time: convert it once
                enqueued_us, enqueued_time = row_us, _to_datetime(row_us)
            events.append(
                ReceivedEvent(
                    body,
                    partition_id,
                    sequence_number,
                    offset,
                    enqueued_time,
                    partition_key,
                    orjson.loads(properties) if properties else _NO_PROPERTIES,
                    message,
                )
            )
        return events

    def partition_info(self, partition_id: str) -> PartitionInfo:
        """The partition's properties: sequence range held, last offset and enqueued time."""
        index = self._partition_index(partition_id)
        with self._transaction("BEGIN"):
            next_sequence_number, last_offset, last_us = self._db.execute(
                "SELECT next_sequence_number, last_offset, last_enqueued_us FROM partitions "
                "WHERE partition_id = ?",
                (index,),
            ).fetchone()
            (first,) = self._db.execute(f"SELECT min(sequence_number) FROM events_{index}").fetchone()
        return PartitionInfo(
            partition_id=partition_id,
            beginning_sequence_number=next_sequence_number if first is None else first,
            last_enqueued_sequence_number=next_sequence_number - 1,
            last_enqueued_offset=last_offset,
            last_enqueued_time=None if last_us is None else _to_datetime(last_us),
            is_empty=first is None,
        )

    def first_sequence_number_at(self, partition_id: str, moment: datetime) -> int:
        """The sequence number of the first event enqueued at or after `moment` (the next one, if none)."""
        index = self._partition_index(partition_id)
        with self._transaction("BEGIN"):
            return self._first_at(index, _to_us(moment))

    def _first_at(self, index: int, moment_us: int) -> int:
        # Enqueued times never decrease within a partition: binary search over sequence numbers.
        (low,) = self._db.execute(f"SELECT min(sequence_number) FROM events_{index}").fetchone()
        (high,) = self._db.execute(
            "SELECT next_sequence_number FROM partitions WHERE partition_id = ?", (index,)
        ).fetchone()
        low = high if low is None else low
        while low < high:
            middle = (low + high) // 2
            (enqueued_us,) = self._db.execute(
                f"SELECT enqueued_us FROM events_{index} WHERE sequence_number = ?", (middle,)
            ).fetchone()
            if enqueued_us >= moment_us:
                high = middle
            else:
                low = middle + 1
        return int(low)

    def purge(self, before: datetime) -> dict[str, int]:
        """Retention: delete the events enqueued before `before`; the number deleted per partition."""
        before_us = _to_us(before)
        deleted: dict[str, int] = {}
        with self._transaction():
            for index, partition_id in enumerate(self._ids):
                cut = self._first_at(index, before_us)
                cursor = self._db.execute(f"DELETE FROM events_{index} WHERE sequence_number < ?", (cut,))
                deleted[partition_id] = cursor.rowcount
        return deleted

    def checkpoint(
        self,
        consumer_group: str,
        partition_id: str,
        sequence_number: int,
        offset: int,
        owner_id: str | None = None,
    ) -> None:
        """Record that the group has processed the partition up to `sequence_number` (inclusive).

        With `owner_id`, the write is refused (`ownership_lost`) unless that consumer holds a live lease
        on the partition, so a consumer that lost its partition cannot move another's checkpoint.
        """
        index = self._partition_index(partition_id)
        now_us = _now_us()
        with self._transaction():
            if owner_id is not None:
                row = self._db.execute(
                    "SELECT 1 FROM ownership WHERE consumer_group = ? AND partition_id = ? AND owner_id = ? "
                    "AND expires_us > ?",
                    (consumer_group, index, owner_id, now_us),
                ).fetchone()
                if row is None:
                    raise HubError(
                        "ownership_lost",
                        f"consumer {owner_id} no longer owns partition {partition_id} of {consumer_group}",
                        "claim partitions again and resume from the group's checkpoint",
                    )
            (next_sequence_number,) = self._db.execute(
                "SELECT next_sequence_number FROM partitions WHERE partition_id = ?", (index,)
            ).fetchone()
            if not 0 <= sequence_number < next_sequence_number:
                raise HubError(
                    "invalid_checkpoint",
                    f"partition {partition_id} holds no sequence number {sequence_number}",
                    "checkpoint the sequence number of an event you received",
                )
            self._db.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?) ON CONFLICT (consumer_group, partition_id) "
                "DO UPDATE SET sequence_number = excluded.sequence_number, "
                "byte_offset = excluded.byte_offset, updated_us = excluded.updated_us",
                (consumer_group, index, sequence_number, offset, now_us),
            )

    def checkpointed_sequence_number(self, consumer_group: str, partition_id: str) -> int | None:
        """The sequence number the group last checkpointed in the partition; None when it has none."""
        index = self._partition_index(partition_id)
        with self._transaction("BEGIN"):
            row = self._db.execute(
                "SELECT sequence_number FROM checkpoints WHERE consumer_group = ? AND partition_id = ?",
                (consumer_group, index),
            ).fetchone()
        return None if row is None else int(row[0])

    def claim_partitions(self, consumer_group: str, owner_id: str, lease_seconds: float) -> list[str]:
        """Balance the group's partitions over its live consumers; the partitions `owner_id` now owns.

        Each call is a heartbeat: it renews the consumer's lease and its partitions' leases. With N live
        consumers each owns P // N or P // N + 1 partitions (P % N of them the larger share). A consumer
        over its share releases partitions, one under it claims free ones, nobody takes a partition
        another live consumer holds. Leases of consumers that stop calling expire after `lease_seconds`.
        """
        now_us = _now_us()
        expires_us = now_us + int(lease_seconds * 1_000_000)
        with self._transaction():
            for table in ("consumers", "ownership"):
                self._db.execute(
                    f"DELETE FROM {table} WHERE consumer_group = ? AND expires_us <= ?",
                    (consumer_group, now_us),
                )
            self._db.execute(
                "INSERT INTO consumers VALUES (?, ?, ?) ON CONFLICT (consumer_group, owner_id) "
                "DO UPDATE SET expires_us = excluded.expires_us",
                (consumer_group, owner_id, expires_us),
            )
            (live,) = self._db.execute(
                "SELECT count(*) FROM consumers WHERE consumer_group = ?", (consumer_group,)
            ).fetchone()
            owners = dict(
                self._db.execute(
                    "SELECT partition_id, owner_id FROM ownership WHERE consumer_group = ?", (consumer_group,)
                ).fetchall()
            )
            share, larger_shares = divmod(len(self._ids), live)
            others: dict[str, int] = {}
            for owner in owners.values():
                if owner != owner_id:
                    others[owner] = others.get(owner, 0) + 1
            if sum(1 for count in others.values() if count > share) < larger_shares:
                share += 1
            mine = sorted(index for index, owner in owners.items() if owner == owner_id)
            free = [index for index in range(len(self._ids)) if index not in owners]
            keep = (mine + free)[:share]
            self._db.execute(
                "DELETE FROM ownership WHERE consumer_group = ? AND owner_id = ?", (consumer_group, owner_id)
            )
            self._db.executemany(
                "INSERT INTO ownership VALUES (?, ?, ?, ?)",
                [(consumer_group, index, owner_id, expires_us) for index in keep],
            )
        return [self._ids[index] for index in sorted(keep)]

    def partition_leases(self, consumer_group: str) -> list[PartitionLease]:
        """The group's live partition leases: who owns which partition, and until when."""
        now_us = _now_us()
        with self._transaction("BEGIN"):
            rows = self._db.execute(
                "SELECT partition_id, owner_id, expires_us FROM ownership "
                "WHERE consumer_group = ? AND expires_us > ? ORDER BY partition_id",
                (consumer_group, now_us),
            ).fetchall()
        return [
            PartitionLease(self._ids[index], owner, _to_datetime(expires)) for index, owner, expires in rows
        ]

    def release_partitions(self, consumer_group: str, owner_id: str) -> None:
        """Give up the consumer's partitions and leave the group, so others take over at once."""
        with self._transaction():
            for table in ("ownership", "consumers"):
                self._db.execute(
                    f"DELETE FROM {table} WHERE consumer_group = ? AND owner_id = ?",
                    (consumer_group, owner_id),
                )

    def defer_wal_checkpoints(self, pages: int) -> None:
        """Let this connection's commits checkpoint the write-ahead log only once it holds `pages` pages,
        not SQLite's 1,000 (the commit that checkpoints copies the log into the database and syncs
        both, 30-60 ms for 1,000 pages, during which that commit waits). Whoever calls this runs
        `checkpoint_wal` beside the writes meanwhile, so that the commit's checkpoint finds little left
        to copy. The commit's own checkpoint is what lets the log start over: one running beside
        continuous writes never finds it wholly copied, and the file would grow without end."""
        self._db.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")

    def checkpoint_wal(self) -> None:
        """Copy what the write-ahead log holds into the database, as far as readers allow, without
        blocking writers or readers (a passive checkpoint, as the automatic one is)."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.DatabaseError as error:
            raise HubError(
                "hub_storage_error",
                f"local event log {self.path}: checkpointing its write-ahead log failed: {error}",
                f"free disk space or fix the permissions of {self.path.parent}",
            ) from error

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LocalEventLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

"""The local event log on a real SQLite file: creation, appends, reads, limits, retention, checkpoints."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub import local_log
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.transport import (
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    HubError,
    OutgoingEvent,
    PartitionInfo,
    TransientHubError,
)

if TYPE_CHECKING:
    from conftest import Clock

T0 = datetime(2025, 1, 31, 12, tzinfo=UTC)


def events(*bodies: bytes, key: str | None = None) -> list[OutgoingEvent]:
    return [OutgoingEvent(body, partition_key=key) for body in bodies]


def test_create_is_idempotent_for_the_same_partition_count(log: LocalEventLog, log_path: Path) -> None:
    log.append([("1", events(b"kept"))])
    with LocalEventLog.create(log_path, 4) as again:
        assert again.partition_ids() == ["0", "1", "2", "3"]
        assert [event.body for event in again.read("1", 0, 10)] == [b"kept"]


def test_create_refuses_another_partition_count(log: LocalEventLog, log_path: Path) -> None:
    with pytest.raises(PaysimError) as raised:
        LocalEventLog.create(log_path, 8)
    assert raised.value.code == "hub_partition_mismatch"
    assert raised.value.exit_code is ExitCode.CONFLICT
    assert "has 4 partitions, not 8" in raised.value.message


@pytest.mark.parametrize("partitions", [0, 1025])
def test_create_refuses_an_impossible_partition_count(tmp_path: Path, partitions: int) -> None:
    with pytest.raises(PaysimError) as raised:
        LocalEventLog.create(tmp_path / "events.db", partitions)
    assert raised.value.code == "invalid_partition_count"


def test_open_reports_a_missing_log_with_the_way_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(PaysimError) as raised:
        LocalEventLog.open(tmp_path / "missing.db")
    assert (raised.value.code, raised.value.hint) == ("hub_not_found", "run paysim local up")
    assert raised.value.exit_code is ExitCode.UNAVAILABLE


@pytest.mark.parametrize("content", [b"not a database at all, just text" * 100, b""])
def test_open_reports_a_file_that_is_not_an_event_log(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "events.db"
    path.write_bytes(content)
    with pytest.raises(PaysimError) as raised:
        LocalEventLog.open(path)
    assert raised.value.code == "hub_unreadable"
    hint = str(raised.value.hint)
    assert hint.startswith("check that the path is the log's")
    assert hint.index("no other program") < hint.index("`paysim local reset --yes`")


def test_create_over_a_file_that_is_not_an_event_log_says_so(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    path.write_bytes(b"not a database at all, just text" * 100)
    with pytest.raises(PaysimError) as raised:
        LocalEventLog.create(path, 4)
    assert raised.value.code == "hub_unreadable"


def test_open_sees_what_another_connection_appended(log: LocalEventLog, log_path: Path) -> None:
    with LocalEventLog.open(log_path) as other:
        other.append([("2", events(b"from another process"))])
    assert log.read("2", 0, 10)[0].body == b"from another process"


def test_sequence_numbers_offsets_and_enqueued_time_per_partition(log: LocalEventLog, clock: Clock) -> None:
    result = log.append([("0", events(b"aaaa", b"bb")), ("1", events(b"c"))])
    assert (result.events, result.batches, dict(result.by_partition)) == (3, 2, {"0": 2, "1": 1})
    clock.advance(1)
    log.append([("0", events(b"ddd", key="k"))])

    first, second, third = log.read("0", 0, 10)
    assert [(e.sequence_number, e.offset) for e in (first, second, third)] == [(0, 0), (1, 4), (2, 6)]
    assert first.enqueued_time == second.enqueued_time == T0
    assert third.enqueued_time == T0 + timedelta(seconds=1)
    assert (third.partition_key, third.partition_id) == ("k", "0")
    assert log.read("1", 0, 10)[0].sequence_number == 0


def test_offsets_increase_even_for_empty_events(log: LocalEventLog) -> None:
    log.append([("0", events(b"", b"", b"x"))])
    assert [event.offset for event in log.read("0", 0, 10)] == [0, 1, 2]


def test_enqueued_time_never_goes_back_when_the_clock_does(log: LocalEventLog, clock: Clock) -> None:
    log.append([("0", events(b"first"))])
    clock.advance(-60)
    log.append([("0", events(b"second"))])
    assert [event.enqueued_time for event in log.read("0", 0, 10)] == [T0, T0]


def test_properties_and_keys_round_trip(log: LocalEventLog) -> None:
    properties = {"source": "test", "attempt": 2, "ratio": 0.5, "retry": True}
    log.append([("3", [OutgoingEvent(b"{}", partition_key="merchant-1", properties=properties)])])
    (event,) = log.read("3", 0, 1)
    assert (event.partition_key, dict(event.properties)) == ("merchant-1", properties)


def test_read_from_a_sequence_number_with_a_page_size(log: LocalEventLog) -> None:
    log.append([("0", events(*[str(number).encode() for number in range(10)]))])
    assert [event.body for event in log.read("0", 4, 3)] == [b"4", b"5", b"6"]
    assert log.read("0", 10, 3) == []


def test_an_event_over_1_mib_is_refused_and_nothing_of_the_call_is_written(log: LocalEventLog) -> None:
    with pytest.raises(HubError) as raised:
        log.append([("0", events(b"ok")), ("1", events(b"x" * (MAX_EVENT_BYTES + 1)))])
    assert raised.value.code == "event_too_large"
    assert log.partition_info("0").is_empty


def test_a_batch_over_1_mib_is_refused(log: LocalEventLog) -> None:
    half = b"x" * (MAX_BATCH_BYTES // 2)
    with pytest.raises(HubError) as raised:
        log.append([("0", events(half, half, b"one byte too many"))])
    assert raised.value.code == "batch_too_large"
    assert log.partition_info("0").is_empty


def test_an_unknown_partition_is_refused(log: LocalEventLog) -> None:
    with pytest.raises(HubError) as raised:
        log.append([("4", events(b"x"))])
    assert raised.value.code == "unknown_partition"


def test_partition_info_of_an_empty_partition(log: LocalEventLog) -> None:
    assert log.partition_info("2") == PartitionInfo("2", 0, -1, -1, None, True)


def test_partition_info_tracks_the_range_held(log: LocalEventLog, clock: Clock) -> None:
    log.append([("2", events(b"aa", b"bbb"))])
    assert log.partition_info("2") == PartitionInfo("2", 0, 1, 2, T0, False)


def test_first_sequence_number_at_a_time(log: LocalEventLog, clock: Clock) -> None:
    for _ in range(5):
        log.append([("0", events(b"a", b"b"))])  # sequence numbers 2s, 2s+1 at T0 + s
        clock.advance(1)
    assert log.first_sequence_number_at("0", T0 - timedelta(days=1)) == 0
    assert log.first_sequence_number_at("0", T0 + timedelta(seconds=2)) == 4
    assert log.first_sequence_number_at("0", T0 + timedelta(seconds=2, microseconds=1)) == 6
    assert log.first_sequence_number_at("0", T0 + timedelta(hours=1)) == 10
    assert log.first_sequence_number_at("1", T0) == 0


def test_purge_deletes_what_retention_expired(log: LocalEventLog, clock: Clock) -> None:
    log.append([("0", events(b"old", b"old")), ("1", events(b"old"))])
    clock.advance(3600)
    log.append([("0", events(b"new"))])

    assert log.purge(T0 + timedelta(minutes=30)) == {"0": 2, "1": 1, "2": 0, "3": 0}
    assert [event.body for event in log.read("0", 0, 10)] == [b"new"]
    kept = log.partition_info("0")
    assert (kept.beginning_sequence_number, kept.last_enqueued_sequence_number, kept.is_empty) == (
        2,
        2,
        False,
    )
    emptied = log.partition_info("1")
    assert (emptied.beginning_sequence_number, emptied.last_enqueued_sequence_number) == (1, 0)
    assert (emptied.is_empty, emptied.last_enqueued_time) == (True, T0)
    log.append([("1", events(b"after"))])
    assert log.read("1", 0, 10)[0].sequence_number == 1


def test_checkpoints_per_consumer_group(log: LocalEventLog) -> None:
    log.append([("0", events(b"a", b"b", b"c"))])
    assert log.checkpointed_sequence_number("pipeline", "0") is None
    log.checkpoint("pipeline", "0", 1, 1)
    log.checkpoint("pipeline", "0", 2, 2)
    log.checkpoint("audit", "0", 0, 0)
    assert log.checkpointed_sequence_number("pipeline", "0") == 2
    assert log.checkpointed_sequence_number("audit", "0") == 0


@pytest.mark.parametrize("sequence_number", [-1, 3])
def test_a_checkpoint_must_name_an_event_of_the_partition(log: LocalEventLog, sequence_number: int) -> None:
    log.append([("0", events(b"a", b"b", b"c"))])
    with pytest.raises(HubError) as raised:
        log.checkpoint("pipeline", "0", sequence_number, 0)
    assert raised.value.code == "invalid_checkpoint"


def test_one_consumer_claims_every_partition(log: LocalEventLog) -> None:
    assert log.claim_partitions("g", "a", 30) == ["0", "1", "2", "3"]


def test_claims_balance_as_consumers_join_and_leave(log: LocalEventLog) -> None:
    assert log.claim_partitions("g", "a", 30) == ["0", "1", "2", "3"]
    assert log.claim_partitions("g", "b", 30) == []  # a still holds them all
    assert log.claim_partitions("g", "a", 30) == ["0", "1"]  # a gives back what exceeds its share
    assert log.claim_partitions("g", "b", 30) == ["2", "3"]
    assert log.claim_partitions("g", "c", 30) == []
    assert log.claim_partitions("g", "a", 30) == ["0"]
    assert log.claim_partitions("g", "b", 30) == ["2", "3"]  # one of the three may hold two
    assert log.claim_partitions("g", "c", 30) == ["1"]
    log.release_partitions("g", "b")
    assert log.claim_partitions("g", "a", 30) == ["0", "2"]
    assert log.claim_partitions("g", "c", 30) == ["1", "3"]
    assert log.claim_partitions("other-group", "z", 30) == ["0", "1", "2", "3"]


def test_the_leases_of_a_silent_consumer_expire(log: LocalEventLog, clock: Clock) -> None:
    log.claim_partitions("g", "a", 10)
    clock.advance(5)
    assert log.claim_partitions("g", "b", 10) == []
    clock.advance(6)  # a's leases are 11 s old
    assert log.claim_partitions("g", "b", 10) == ["0", "1", "2", "3"]


def test_a_checkpoint_needs_the_partitions_lease(log: LocalEventLog, clock: Clock) -> None:
    log.append([("0", events(b"a"))])
    log.claim_partitions("g", "a", 10)
    log.checkpoint("g", "0", 0, 0, owner_id="a")
    with pytest.raises(HubError) as raised:
        log.checkpoint("g", "0", 0, 0, owner_id="b")
    assert raised.value.code == "ownership_lost"
    clock.advance(11)
    with pytest.raises(HubError):
        log.checkpoint("g", "0", 0, 0, owner_id="a")


def test_a_long_write_elsewhere_is_a_transient_error(
    log_path: Path, monkeypatch: pytest.MonkeyPatch, log: LocalEventLog
) -> None:
    monkeypatch.setattr(local_log, "BUSY_TIMEOUT_SECONDS", 0.05)
    with LocalEventLog.open(log_path) as impatient:
        holder = sqlite3.connect(log_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(TransientHubError) as raised:
                impatient.append([("0", events(b"x"))])
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert raised.value.code == "hub_busy"
    assert raised.value.exit_code is ExitCode.EXTERNAL


def test_a_damaged_log_is_a_storage_error(log: LocalEventLog, log_path: Path) -> None:
    with sqlite3.connect(log_path) as vandal:
        vandal.execute("DROP TABLE events_0")
    with pytest.raises(HubError) as raised:
        log.append([("0", events(b"x"))])
    assert raised.value.code == "hub_storage_error"
    assert "no such table" in raised.value.message


def _version_1_log(path: Path) -> None:
    """A log as paysim wrote it before events kept their AMQP message (schema version 1)."""
    with LocalEventLog.create(path, 2) as log:
        log.append([("0", events(b"old", key="k"))])
    with sqlite3.connect(path) as old:
        for index in range(2):
            old.execute(f"ALTER TABLE events_{index} DROP COLUMN message")
        old.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


@pytest.mark.parametrize("opening", ["open", "create"])
def test_a_version_1_log_is_upgraded_in_place(tmp_path: Path, opening: str) -> None:
    path = tmp_path / "events.db"
    _version_1_log(path)
    with LocalEventLog.open(path) if opening == "open" else LocalEventLog.create(path, 2) as log:
        (old,) = log.read("0", 0, 10)
        assert (old.body, old.partition_key, old.amqp_message) == (b"old", "k", None)
        log.append([("0", [OutgoingEvent(b"new", amqp_message=b"stored")])])
        assert log.read("0", 1, 1)[0].amqp_message == b"stored"
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(local_log.SCHEMA_VERSION),
        )


def test_a_log_from_a_newer_paysim_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    LocalEventLog.create(path, 1).close()
    with sqlite3.connect(path) as newer:
        newer.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(PaysimError) as raised:
        LocalEventLog.open(path)
    assert raised.value.code == "hub_schema_newer"
    assert raised.value.exit_code is ExitCode.CONFLICT


def test_deferred_checkpoints_leave_the_wal_to_checkpoint_wal(log: LocalEventLog, log_path: Path) -> None:
    log.defer_wal_checkpoints(5000)
    wal = log_path.with_name(f"{log_path.name}-wal")
    database_bytes = log_path.stat().st_size
    body = b"x" * 4000  # about a page an event: 1,500 of them take the log past SQLite's 1,000 pages
    for _ in range(30):
        log.append([("0", events(*[body] * 50))])
    # No commit checkpointed: the database file has none of it, the write-ahead log all of it.
    assert log_path.stat().st_size == database_bytes
    assert wal.stat().st_size > 1500 * 4096
    with sqlite3.connect(log_path) as other:
        assert other.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)  # others: the default
    log.checkpoint_wal()
    assert log_path.stat().st_size > database_bytes + 1500 * 4000
    assert len(log.read("0", 0, 2000)) == 1500
    # Past its 5,000 pages the writer's own commit checkpoints and the log starts over: 7,500 pages more
    # leave it at most ~5,000 pages long (4,096 bytes and a 24-byte header each), not 7,500.
    for _ in range(150):
        log.append([("1", events(*[body] * 50))])
    assert wal.stat().st_size < 5200 * 4120

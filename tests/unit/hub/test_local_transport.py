"""The local publisher and consumer over a real log: routing, batching, positions, resuming, ownership."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventConsumer, LocalEventPublisher
from paysim_cli.hub.routing import partition_index_for_key
from paysim_cli.hub.transport import (
    MAX_BATCH_BYTES,
    EventPosition,
    HubError,
    OutgoingEvent,
    ReceivedEvent,
)

if TYPE_CHECKING:
    from conftest import Clock


@pytest.fixture
def publisher(log_path: Path, log: LocalEventLog) -> LocalEventPublisher:
    return LocalEventPublisher(LocalEventLog.open(log_path))


def consumer(
    log_path: Path,
    position: str = "start",
    *,
    owner_id: str | None = None,
    resume_from_checkpoint: bool = True,
) -> LocalEventConsumer:
    return LocalEventConsumer(
        LocalEventLog.open(log_path),
        "pipeline",
        EventPosition.parse(position),
        owner_id=owner_id,
        resume_from_checkpoint=resume_from_checkpoint,
    )


def bodies(events: list[ReceivedEvent]) -> list[bytes]:
    return [event.body for event in events]


def test_publish_routes_each_event(publisher: LocalEventPublisher, log: LocalEventLog) -> None:
    key_partition = str(partition_index_for_key("merchant-7", 4))
    result = publisher.publish(
        [
            OutgoingEvent(b"keyed", partition_key="merchant-7"),
            OutgoingEvent(b"pinned", partition_id="2"),
            *(OutgoingEvent(f"rr{number}".encode()) for number in range(4)),
        ]
    )
    assert result.events == 6
    assert b"pinned" in bodies(log.read("2", 0, 10))
    assert b"keyed" in bodies(log.read(key_partition, 0, 10))
    round_robin = [bodies(log.read(partition, 0, 10))[-1] for partition in "0123"]
    assert sorted(round_robin) == [b"rr0", b"rr1", b"rr2", b"rr3"]


def test_publish_splits_more_than_1_mib_into_batches(
    publisher: LocalEventPublisher, log: LocalEventLog
) -> None:
    third = b"x" * (MAX_BATCH_BYTES // 3)
    result = publisher.publish([OutgoingEvent(third, partition_id="1") for _ in range(4)])
    assert (result.events, result.batches, dict(result.by_partition)) == (4, 2, {"1": 4})
    assert [event.sequence_number for event in log.read("1", 0, 10)] == [0, 1, 2, 3]
    assert publisher.max_batch_bytes == MAX_BATCH_BYTES
    assert publisher.partition_ids() == ["0", "1", "2", "3"]


def test_a_rejected_publish_writes_nothing(publisher: LocalEventPublisher, log: LocalEventLog) -> None:
    with pytest.raises(HubError):
        publisher.publish([OutgoingEvent(b"fine", partition_id="0"), OutgoingEvent(b"x", partition_id="9")])
    assert log.partition_info("0").is_empty


@pytest.mark.parametrize(
    ("position", "expected"),
    [("start", [b"a", b"b", b"c", b"d"]), ("seq:2", [b"c", b"d"]), ("end", [])],
)
def test_starting_positions(log: LocalEventLog, log_path: Path, position: str, expected: list[bytes]) -> None:
    log.append([("0", [OutgoingEvent(body) for body in (b"a", b"b", b"c", b"d")])])
    reader = consumer(log_path, position)
    assert bodies(reader.receive("0", max_events=10, max_wait_seconds=0)) == expected
    log.append([("0", [OutgoingEvent(b"e")])])
    assert bodies(reader.receive("0", max_events=10, max_wait_seconds=0)) == [b"e"]


def test_starting_at_a_time(log: LocalEventLog, log_path: Path, clock: Clock) -> None:
    log.append([("0", [OutgoingEvent(b"before")])])
    clock.advance(10)
    log.append([("0", [OutgoingEvent(b"after")])])
    start = log.partition_info("0").last_enqueued_time
    assert start is not None
    reader = consumer(log_path, f"time:{(start - timedelta(seconds=1)).isoformat()}")
    assert bodies(reader.receive("0", max_events=10, max_wait_seconds=0)) == [b"after"]


def test_a_consumer_resumes_after_its_groups_checkpoint(log: LocalEventLog, log_path: Path) -> None:
    log.append([("0", [OutgoingEvent(body) for body in (b"a", b"b", b"c")])])
    first = consumer(log_path)
    received = first.receive("0", max_events=2, max_wait_seconds=0)
    first.checkpoint("0", received[-1].sequence_number, received[-1].offset)
    assert first.checkpointed_sequence_number("0") == 1
    first.close()

    assert bodies(consumer(log_path).receive("0", max_events=10, max_wait_seconds=0)) == [b"c"]
    peeker = consumer(log_path, "start", resume_from_checkpoint=False)
    assert bodies(peeker.receive("0", max_events=10, max_wait_seconds=0)) == [b"a", b"b", b"c"]


def log_publish(log_path: Path, event: OutgoingEvent) -> None:
    publisher = LocalEventPublisher(LocalEventLog.open(log_path))
    publisher.publish([event])
    publisher.close()


def test_receive_waits_for_events_published_meanwhile(log: LocalEventLog, log_path: Path) -> None:
    reader = consumer(log_path)
    assert reader.receive("3", max_events=10, max_wait_seconds=0.05) == []
    late = threading.Timer(0.1, lambda: log_publish(log_path, OutgoingEvent(b"late", partition_id="3")))
    late.start()
    try:
        assert bodies(reader.receive("3", max_events=10, max_wait_seconds=30)) == [b"late"]
    finally:
        late.join()


def test_a_partition_taken_over_resumes_from_the_new_checkpoint(log: LocalEventLog, log_path: Path) -> None:
    log.append([("0", [OutgoingEvent(str(number).encode()) for number in range(6)])])
    a = consumer(log_path, owner_id="a")
    b = consumer(log_path, owner_id="b")
    assert a.claim_partitions() == ["0", "1", "2", "3"]
    first = a.receive("0", max_events=2, max_wait_seconds=0)
    a.checkpoint("0", first[-1].sequence_number, first[-1].offset)
    assert b.claim_partitions() == []
    assert a.claim_partitions() == ["0", "1"]
    a.close()  # leaves the group: b takes partition 0 over at its checkpoint

    assert b.claim_partitions() == ["0", "1", "2", "3"]
    taken_over = b.receive("0", max_events=2, max_wait_seconds=0)
    assert bodies(taken_over) == [b"2", b"3"]
    b.checkpoint("0", taken_over[-1].sequence_number, taken_over[-1].offset)

    again = consumer(log_path, owner_id="a")
    assert again.claim_partitions() == []
    assert b.claim_partitions() == ["0", "1"]
    assert again.claim_partitions() == ["2", "3"]
    with pytest.raises(HubError) as raised:
        again.checkpoint("0", 5, 0)
    assert raised.value.code == "ownership_lost"
    assert (again.partition_ids(), again.partition_info("0").last_enqueued_sequence_number) == (
        ["0", "1", "2", "3"],
        5,
    )

"""The unmodified azure-eventhub SDK (sync clients) against the endpoint: publishing, receiving from every
starting position, system properties, owner levels, size limits, buffered mode, and the local log's own
writer and reader on the other side of the same events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from amqp_clients import PARTITIONS, Endpoint
from azure.eventhub import EventData, EventDataBatch, EventHubConsumerClient, EventHubProducerClient
from azure.eventhub.exceptions import EventDataSendError

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.routing import partition_index_for_key
from paysim_cli.hub.transport import OutgoingEvent

WAIT_SECONDS = 15


def producer(endpoint: Endpoint, **options: Any) -> EventHubProducerClient:
    return EventHubProducerClient.from_connection_string(**endpoint.client_options(), **options)


def consumer(endpoint: Endpoint, **options: Any) -> EventHubConsumerClient:
    return EventHubConsumerClient.from_connection_string(
        **endpoint.client_options(), consumer_group="$Default", **options
    )


def log_events(endpoint: Endpoint, partition_id: str) -> list[Any]:
    with LocalEventLog.open(endpoint.event_log) as log:
        return log.read(partition_id, 0, 10_000)


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Collector:
    """Runs `receive_batch` (or `receive`) in a thread and keeps what arrives, until `stop()`."""

    def __init__(self, client: EventHubConsumerClient, *, batch: bool = True, **options: Any) -> None:
        self.client = client
        self.events: list[EventData] = []
        self.errors: list[Exception] = []
        if batch:
            target: Callable[..., None] = client.receive_batch
            options["on_event_batch"] = lambda _context, events: self.events.extend(events)
        else:
            target = client.receive
            options["on_event"] = lambda _context, event: event is not None and self.events.append(event)
        options["on_error"] = lambda _context, error: self.errors.append(error)
        self._thread = threading.Thread(target=target, kwargs=options, daemon=True)
        self._thread.start()

    def wait_for(self, count: int) -> list[EventData]:
        wait_until(lambda: len(self.events) >= count or bool(self.errors))
        return self.events

    def stop(self) -> None:
        self.client.close()
        self._thread.join(timeout=WAIT_SECONDS)


def test_hub_and_partition_properties_are_the_logs(endpoint: Endpoint) -> None:
    with producer(endpoint) as client:
        assert client.get_partition_ids() == ["0", "1", "2", "3"]
        hub = client.get_eventhub_properties()
        assert hub["eventhub_name"] == "payments"
        assert hub["created_at"] <= datetime.now(UTC)
        empty = client.get_partition_properties("1")
        assert empty["is_empty"] is True
        assert empty["last_enqueued_sequence_number"] == -1
        assert empty["last_enqueued_time_utc"] == datetime.min.replace(tzinfo=UTC)

        batch = client.create_batch(partition_id="1")
        for number in range(3):
            batch.add(EventData(f"event {number}"))
        client.send_batch(batch)
        properties = client.get_partition_properties("1")
    info = LocalEventLog.open(endpoint.event_log).partition_info("1")
    assert properties["beginning_sequence_number"] == info.beginning_sequence_number == 0
    assert properties["last_enqueued_sequence_number"] == info.last_enqueued_sequence_number == 2
    assert properties["last_enqueued_offset"] == str(info.last_enqueued_offset)
    assert info.last_enqueued_time is not None
    assert abs(properties["last_enqueued_time_utc"] - info.last_enqueued_time) < timedelta(milliseconds=1)
    assert properties["is_empty"] is False


def test_send_batch_to_the_hub_by_key_and_by_partition(endpoint: Endpoint) -> None:
    with producer(endpoint) as client:
        for number in range(PARTITIONS):  # no key, no partition: each batch to the next partition in turn
            batch = client.create_batch()
            batch.add(EventData(f"spread {number}".encode()))
            client.send_batch(batch)
        keyed = client.create_batch(partition_key="merchant-42")
        for number in range(5):
            event = EventData(f'{{"n": {number}}}'.encode())
            event.properties = {"source": "simulator", "attempt": number, "ratio": 0.5, "retry": False}
            keyed.add(event)
        client.send_batch(keyed)
        pinned = client.create_batch(partition_id="3")
        pinned.add(EventData(b"\x00\xffbinary body\n"))
        client.send_batch(pinned)
        client.send_event(EventData(b"single"), partition_key="merchant-42")

    assert sorted(len(log_events(endpoint, str(p))) > 0 for p in range(PARTITIONS)) == [True] * PARTITIONS
    key_partition = str(partition_index_for_key("merchant-42", PARTITIONS))
    keyed_events = [
        event for event in log_events(endpoint, key_partition) if event.partition_key == "merchant-42"
    ]
    assert [event.body for event in keyed_events] == [f'{{"n": {n}}}'.encode() for n in range(5)] + [
        b"single"
    ]
    assert dict(keyed_events[2].properties) == {
        "source": "simulator",
        "attempt": 2,
        "ratio": 0.5,
        "retry": False,
    }
    assert log_events(endpoint, "3")[-1].body == b"\x00\xffbinary body\n"


def test_events_from_the_log_writer_look_right_to_the_sdk(endpoint: Endpoint) -> None:
    with LocalEventLog.open(endpoint.event_log) as log:
        log.append([("0", [OutgoingEvent(b'{"id": 1}', "card-9", properties={"kind": "payment", "n": 7})])])
        held = log.read("0", 0, 1)[0]
    collector = Collector(consumer(endpoint), partition_id="0", starting_position="-1")
    try:
        (event,) = collector.wait_for(1)
    finally:
        collector.stop()
    assert event.body_as_str() == '{"id": 1}'
    assert next(iter(event.body)) == b'{"id": 1}'
    assert event.sequence_number == 0
    assert event.offset == str(held.offset)
    assert event.partition_key == b"card-9"
    assert event.properties == {b"kind": b"payment", b"n": 7}
    assert abs(event.enqueued_time - held.enqueued_time) < timedelta(milliseconds=1)


def seed(endpoint: Endpoint, partition_id: str, bodies: list[bytes]) -> datetime:
    """Append through the log's own writer; returns the batch's enqueued time."""
    with LocalEventLog.open(endpoint.event_log) as log:
        log.append([(partition_id, [OutgoingEvent(body) for body in bodies])])
        return log.read(partition_id, log.partition_info(partition_id).last_enqueued_sequence_number, 1)[
            0
        ].enqueued_time


@pytest.mark.parametrize(
    ("position", "inclusive", "expected"),
    [
        ("-1", False, [b"a0", b"a1", b"a2", b"b0", b"b1"]),
        (1, False, [b"a2", b"b0", b"b1"]),
        (1, True, [b"a1", b"a2", b"b0", b"b1"]),
        ("second batch", True, [b"b0", b"b1"]),
        ("first offset", False, [b"a1", b"a2", b"b0", b"b1"]),
    ],
)
def test_receive_batch_from_each_starting_position(
    endpoint: Endpoint, position: Any, inclusive: bool, expected: list[bytes]
) -> None:
    seed(endpoint, "2", [b"a0", b"a1", b"a2"])
    time.sleep(0.01)
    second = seed(endpoint, "2", [b"b0", b"b1"])
    if position == "second batch":
        position = second
    elif position == "first offset":
        position = str(log_events(endpoint, "2")[0].offset)
    collector = Collector(
        consumer(endpoint),
        partition_id="2",
        starting_position=position,
        starting_position_inclusive=inclusive,
        max_batch_size=2,
    )
    try:
        received = collector.wait_for(len(expected))
        time.sleep(0.2)  # nothing more arrives
    finally:
        collector.stop()
    assert [next(iter(event.body)) for event in received] == expected


def test_receive_from_latest_gets_only_new_events_with_callbacks(endpoint: Endpoint) -> None:
    seed(endpoint, "0", [b"old"])
    collector = Collector(consumer(endpoint), batch=False, partition_id="0", starting_position="@latest")
    try:
        time.sleep(1.0)  # the link is attached before the new event is sent
        with producer(endpoint) as client:
            batch = client.create_batch(partition_id="0")
            batch.add(EventData(b"new"))
            client.send_batch(batch)
        (event,) = collector.wait_for(1)
    finally:
        collector.stop()
    assert event.body_as_str() == "new"
    assert event.sequence_number == 1


def test_all_partitions_by_one_consumer_with_load_balancing(endpoint: Endpoint) -> None:
    for partition in range(PARTITIONS):
        seed(endpoint, str(partition), [f"p{partition}".encode()])
    collector = Collector(consumer(endpoint, load_balancing_interval=0.5), starting_position="-1")
    try:
        received = collector.wait_for(PARTITIONS)
    finally:
        collector.stop()
    assert sorted(event.body_as_str() for event in received) == [f"p{n}" for n in range(PARTITIONS)]


def test_a_higher_owner_level_takes_the_partition(endpoint: Endpoint) -> None:
    seed(endpoint, "1", [b"first"])
    low = Collector(consumer(endpoint), partition_id="1", starting_position="-1", owner_level=1)
    try:
        low.wait_for(1)
        high = Collector(consumer(endpoint), partition_id="1", starting_position="-1", owner_level=2)
        try:
            high.wait_for(1)
            wait_until(lambda: bool(low.errors))
            assert "link:stolen" in str(low.errors[0])
            assert "higher epoch of '2'" in str(low.errors[0])
            plain = Collector(consumer(endpoint), partition_id="1", starting_position="-1")
            wait_until(lambda: bool(plain.errors))
            plain.stop()
            assert "non-epoch receiver is not allowed" in str(plain.errors[0])
        finally:
            high.stop()
    finally:
        low.stop()


def test_a_message_over_one_mebibyte_is_rejected_as_the_service_does(endpoint: Endpoint) -> None:
    with producer(endpoint) as client:
        full = client.create_batch(partition_id="0")
        assert full.max_size_in_bytes == 1024 * 1024
        while True:  # a batch the SDK fills to the link's limit is accepted
            try:
                full.add(EventData(b"x" * 50_000))
            except ValueError:
                break
        client.send_batch(full)
        oversized = EventDataBatch(max_size_in_bytes=4 * 1024 * 1024, partition_id="0")
        for _ in range(30):
            oversized.add(EventData(b"y" * 50_000))
        with pytest.raises(EventDataSendError, match="LinkMessageSizeExceeded"):
            client.send_batch(oversized)
        client.send_event(EventData(b"after"), partition_id="0")  # the link is still usable
    assert log_events(endpoint, "0")[-1].body == b"after"


def test_buffered_producer_mode(endpoint: Endpoint) -> None:
    sent: list[str | None] = []
    failed: list[Exception] = []
    client = producer(
        endpoint,
        buffered_mode=True,
        on_success=lambda events, partition_id: sent.extend([partition_id] * len(events)),
        on_error=lambda events, partition_id, error: failed.append(error),
        max_wait_time=0.2,
    )
    with client:
        for number in range(20):
            client.send_event(EventData(f"buffered {number}"), partition_key=f"customer-{number % 3}")
        client.flush()
    assert not failed
    assert len(sent) == 20
    for number in range(3):
        partition = str(partition_index_for_key(f"customer-{number}", PARTITIONS))
        assert any(event.partition_key == f"customer-{number}" for event in log_events(endpoint, partition))


def test_sdk_events_read_back_exactly_by_the_log(endpoint: Endpoint) -> None:
    bodies = [bytes(range(256)) * 4, "zażółć".encode(), b""]
    with producer(endpoint) as client:
        batch = client.create_batch(partition_id="2")
        for body in bodies:
            batch.add(EventData(body))
        client.send_batch(batch)
    assert [event.body for event in log_events(endpoint, "2")] == bodies

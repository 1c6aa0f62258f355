"""Event Hubs semantics over the local log: addresses, selector filters, `$management` reads and the
owner-level rules for receivers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from paysim_cli.hub.amqp import hub as hub_module
from paysim_cli.hub.amqp.codec import AmqpError, Message, encode_message, timestamp_ms
from paysim_cli.hub.amqp.hub import ConsumerNode, EventHub, PublishNode, ReceiverRegistry, ServiceNode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.transport import OutgoingEvent


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[EventHub]:
    path = tmp_path / "events.db"
    with LocalEventLog.create(path, 2) as log:
        log.append([("0", [OutgoingEvent(b"a"), OutgoingEvent(b"bb")])])
        log.append([("0", [OutgoingEvent(b"ccc")])])
    event_hub = EventHub(path, "payments")
    yield event_hub
    event_hub.close()


def test_addresses_name_entities(hub: EventHub) -> None:
    assert hub.resolve("$cbs") is ServiceNode.CBS
    assert hub.resolve("$Management") is ServiceNode.MANAGEMENT
    assert hub.resolve("amqps://localhost:5672/Payments") == PublishNode(None)
    assert hub.resolve("payments/Partitions/1") == PublishNode("1")
    assert hub.resolve("amqp://h/payments/ConsumerGroups/cg/Partitions/0") == ConsumerNode("cg", "0")
    for unknown in ("", "other", "payments/Partitions/7", "payments/ConsumerGroups/cg", "payments/x/1/y/2/z"):
        with pytest.raises(AmqpError) as refused:
            hub.resolve(unknown)
        assert refused.value.condition == b"amqp:not-found"


def test_selector_filters_give_start_sequence_numbers(hub: EventHub) -> None:
    with LocalEventLog.open(hub._reader._path) as log:
        events = log.read("0", 0, 10)
    first_ms, last_ms = timestamp_ms(events[0].enqueued_time), timestamp_ms(events[2].enqueued_time)

    def start(selector: str | None) -> int:
        return asyncio.run(hub.start_sequence_number("0", selector))

    assert start(None) == 0
    assert start("amqp.annotation.x-opt-offset > '-1'") == 0
    assert start("amqp.annotation.x-opt-offset > '@latest'") == 3
    assert start(f"amqp.annotation.x-opt-offset > '{events[1].offset}'") == 2
    assert start(f"amqp.annotation.x-opt-offset >= '{events[1].offset}'") == 1
    assert start("amqp.annotation.x-opt-sequence-number > '1'") == 2
    assert start("amqp.annotation.x-opt-sequence-number >= 1") == 1
    assert start(f"amqp.annotation.x-opt-enqueued-time >= '{first_ms}'") == 0
    assert start(f"amqp.annotation.x-opt-enqueued-time > '{last_ms}'") == 3
    for bad in ("amqp.annotation.x-opt-offset < '5'", "amqp.annotation.x-opt-sequence-number > 'x'"):
        with pytest.raises(AmqpError) as refused:
            start(bad)
        assert refused.value.condition == b"com.microsoft:argument-error"


def test_management_reads(hub: EventHub) -> None:
    def read(**properties: str) -> tuple[int, str, Any]:
        return asyncio.run(hub.management({"operation": b"READ", "name": b"payments", **properties}))

    status, _, body = read(type="com.microsoft:eventhub")
    assert (status, body["partition_count"]) == (200, 2)
    status, _, body = read(type="com.microsoft:partition", partition="0")
    assert status == 200
    assert body["last_enqueued_sequence_number"]["VALUE"] == 2
    assert body["is_partition_empty"] is False
    assert read(type="com.microsoft:partition", partition="5")[0] == 404
    assert read(type="com.microsoft:eventhub", name="other")[0] == 404
    assert read(type="com.microsoft:queue")[0] == 400
    assert asyncio.run(hub.management({"operation": "DELETE", "type": "com.microsoft:eventhub"}))[0] == 400
    assert hub.created_at == EventHub(hub._reader._path, "payments").created_at  # recorded once


def test_publishing_routes_and_maps_log_failures(hub: EventHub) -> None:
    async def publish(node: PublishNode, message: Any) -> None:
        await hub.publish(node, encode_message(message), 0)

    asyncio.run(publish(PublishNode(None), Message(data=[b"round robin"])))
    with pytest.raises(AmqpError) as refused:
        asyncio.run(publish(PublishNode("1"), Message(data=[b"x" * (1024 * 1024 + 1)])))
    assert refused.value.condition == b"amqp:link:message-size-exceeded"
    asyncio.run(hub.wait_for_events("1", timeout=0.01))


def test_the_writer_leaves_checkpoints_to_a_thread_of_their_own(
    hub: EventHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "WAL_CHECKPOINT_BYTES", 10_000)
    log_path = hub._reader._path
    database_bytes = log_path.stat().st_size  # what reaches the database file has been checkpointed

    async def publish(partition_id: str, body: bytes) -> None:
        await hub.publish(PublishNode(partition_id), encode_message(Message(data=[body])), 0)

    async def publish_and_settle() -> None:
        for _ in range(2):
            await publish("0", b"x" * 4000)
        assert hub._checkpointer._running is None  # under 10,000 bytes published: none yet
        assert log_path.stat().st_size == database_bytes
        await publish("1", b"y" * 4000)
        running = hub._checkpointer._running
        assert running is not None
        await running

    asyncio.run(publish_and_settle())
    assert log_path.stat().st_size >= database_bytes + 3 * 4000


def test_the_write_ahead_log_starts_over_under_continuous_publishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "WAL_CHECKPOINT_BYTES", 100_000)
    monkeypatch.setattr(hub_module, "WRITER_CHECKPOINT_PAGES", 500)
    path = tmp_path / "events.db"
    LocalEventLog.create(path, 2).close()
    event_hub = EventHub(path, "payments")

    wal_sizes: list[int] = []

    async def publish_continuously() -> None:
        batch = encode_message(Message(data=[b"z" * 4000]))
        for number in range(2000):  # ~2,000 pages: four times the writer's
            await event_hub.publish(PublishNode("0"), batch, 0)
            if number % 100 == 99:
                wal_sizes.append(path.with_name("events.db-wal").stat().st_size)

    try:
        asyncio.run(publish_continuously())
    finally:
        event_hub.close()
    assert max(wal_sizes) < 700 * 4120  # pages of 4,096 bytes and a 24-byte header


@dataclass(eq=False)
class FakeReceiver:
    owner_level: int | None
    disconnected: list[AmqpError] = field(default_factory=list)

    def disconnect(self, failure: AmqpError) -> None:
        self.disconnected.append(failure)


def test_owner_levels_as_the_service_enforces_them() -> None:
    registry = ReceiverRegistry()
    node = ConsumerNode("$Default", "0")
    plain = FakeReceiver(None)
    registry.admit(node, plain)
    owner = FakeReceiver(1)
    registry.admit(ConsumerNode("$default", "0"), owner)  # consumer groups are case-insensitive
    assert "higher epoch of '1'" in plain.disconnected[0].description
    with pytest.raises(AmqpError, match="non-epoch receiver is not allowed") as refused:
        registry.admit(node, FakeReceiver(None))
    assert refused.value.condition == b"amqp:link:stolen"
    with pytest.raises(AmqpError, match="higher epoch '1' already exists"):
        registry.admit(node, FakeReceiver(0))
    same = FakeReceiver(1)
    registry.admit(node, same)  # an equal owner level takes over too
    assert owner.disconnected
    registry.remove(node, same)
    registry.remove(node, same)
    for _ in range(5):
        registry.admit(node, FakeReceiver(None))
    with pytest.raises(AmqpError, match="maximum number of allowed receivers") as refused:
        registry.admit(node, FakeReceiver(None))
    assert refused.value.condition == b"amqp:resource-limit-exceeded"

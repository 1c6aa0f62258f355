"""The unmodified azure-eventhub SDK's asyncio clients against the endpoint, each scenario in asyncio.run."""

from __future__ import annotations

import asyncio
from typing import Any

from amqp_clients import PARTITIONS, Endpoint
from azure.eventhub import EventData
from azure.eventhub.aio import EventHubConsumerClient, EventHubProducerClient

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.routing import partition_index_for_key

TIMEOUT_SECONDS = 15


async def receive(endpoint: Endpoint, count: int, **options: Any) -> list[EventData]:
    """`receive_batch` until `count` events arrived."""
    received: list[EventData] = []
    enough = asyncio.Event()

    async def on_batch(_context: Any, events: list[EventData]) -> None:
        received.extend(events)
        if len(received) >= count:
            enough.set()

    # The receive loop sleeps a load-balancing interval (30 s by default) before it sees the close.
    client = EventHubConsumerClient.from_connection_string(
        **endpoint.client_options(), consumer_group="$Default", load_balancing_interval=0.2
    )
    async with client:
        task = asyncio.create_task(client.receive_batch(on_event_batch=on_batch, **options))
        async with asyncio.timeout(TIMEOUT_SECONDS):
            await enough.wait()
        await client.close()
        await task
    return received


def test_async_send_batch_and_receive_batch(endpoint: Endpoint) -> None:
    async def scenario() -> tuple[list[str], list[EventData], dict[str, Any]]:
        async with EventHubProducerClient.from_connection_string(**endpoint.client_options()) as producer:
            ids = await producer.get_partition_ids()
            batch = await producer.create_batch(partition_key="merchant-1")
            for number in range(10):
                batch.add(EventData(f"async {number}"))
            await producer.send_batch(batch)
            pinned = await producer.create_batch(partition_id="0")
            pinned.add(EventData(b"pinned"))
            await producer.send_batch(pinned)
            properties = await producer.get_partition_properties("0")
        key_partition = str(partition_index_for_key("merchant-1", PARTITIONS))
        events = await receive(endpoint, 10, partition_id=key_partition, starting_position="-1")
        return ids, events, properties

    ids, events, properties = asyncio.run(scenario())
    assert ids == ["0", "1", "2", "3"]
    assert [event.body_as_str() for event in events][:10] == [f"async {n}" for n in range(10)]
    assert events[0].partition_key == b"merchant-1"
    assert properties["last_enqueued_sequence_number"] >= 0


def test_async_buffered_producer(endpoint: Endpoint) -> None:
    succeeded: list[int] = []

    async def on_success(events: list[EventData], partition_id: str | None) -> None:
        succeeded.append(len(events))

    async def on_error(events: list[EventData], partition_id: str | None, error: Exception) -> None:
        raise error

    async def scenario() -> None:
        client = EventHubProducerClient.from_connection_string(
            **endpoint.client_options(),
            buffered_mode=True,
            on_success=on_success,
            on_error=on_error,
            max_wait_time=0.2,
        )
        async with client:
            for number in range(12):
                await client.send_event(EventData(f"b{number}"), partition_id=str(number % PARTITIONS))
            await client.flush()

    asyncio.run(scenario())
    assert sum(succeeded) == 12
    with LocalEventLog.open(endpoint.event_log) as log:
        assert [len(log.read(str(p), 0, 100)) for p in range(PARTITIONS)] == [3, 3, 3, 3]

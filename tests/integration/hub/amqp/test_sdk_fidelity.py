"""What a real client sets, it gets back, as from Event Hubs: every section of an `AmqpAnnotatedMessage`
(header, annotations, properties, several data sections, footer), value and sequence bodies, and the
receiver runtime metrics behind `last_enqueued_event_properties`; through the sync and async clients."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from amqp_clients import Endpoint
from azure.eventhub import EventData, EventHubConsumerClient, EventHubProducerClient
from azure.eventhub import aio as eventhub_aio
from azure.eventhub.amqp import (
    AmqpAnnotatedMessage,
    AmqpMessageBodyType,
    AmqpMessageHeader,
    AmqpMessageProperties,
)

from paysim_cli.hub.local_log import LocalEventLog

WAIT_SECONDS = 15


def annotated_messages() -> list[AmqpAnnotatedMessage]:
    """One message with every section set, a value body and a sequence body."""
    full = AmqpAnnotatedMessage(
        data_body=[b"first part, ", b"second part"],
        header=AmqpMessageHeader(durable=True, priority=6, time_to_live=120_000),
        properties=AmqpMessageProperties(
            message_id="message-1",
            correlation_id="correlation-9",
            content_type="application/json",
            subject="payment",
            reply_to="replies",
        ),
        application_properties={"kind": "payment", "attempt": 2},
        annotations={"x-custom": "annotated"},
        delivery_annotations={"x-trace": "trace-7"},
        footer={"x-digest": "abc"},
    )
    value = AmqpAnnotatedMessage(value_body={"amount_minor": 1200, "currency": "EUR"})
    sequence = AmqpAnnotatedMessage(sequence_body=[[1, "two", 3.5]])
    return [full, value, sequence]


def check_fidelity(received: list[EventData]) -> None:
    full, value, sequence = received
    assert full.body_type is AmqpMessageBodyType.DATA
    assert list(full.body) == [b"first part, ", b"second part"]  # two data sections, not joined
    assert full.message_id == "message-1"
    assert full.correlation_id == "correlation-9"
    assert full.content_type == "application/json"
    message = full.raw_amqp_message
    assert message.properties is not None
    assert message.properties.subject == b"payment"
    assert message.properties.reply_to == b"replies"
    assert message.header is not None
    assert (message.header.durable, message.header.priority, message.header.time_to_live) == (
        True,
        6,
        120_000,
    )
    assert full.properties == {b"kind": b"payment", b"attempt": 2}
    assert message.annotations is not None
    assert message.annotations[b"x-custom"] == b"annotated"
    # The sender's delivery annotations, beside the runtime metrics the receiver asked for.
    assert message.delivery_annotations is not None
    assert message.delivery_annotations[b"x-trace"] == b"trace-7"
    assert message.footer == {b"x-digest": b"abc"}
    assert None not in (full.sequence_number, full.offset, full.enqueued_time)

    assert value.body_type is AmqpMessageBodyType.VALUE
    assert value.body == {b"amount_minor": 1200, b"currency": b"EUR"}
    assert sequence.body_type is AmqpMessageBodyType.SEQUENCE
    assert list(sequence.body) == [[1, b"two", 3.5]]
    assert [event.sequence_number for event in received] == [0, 1, 2]


def check_runtime_metrics(properties: dict[str, Any] | None, endpoint: Endpoint, partition_id: str) -> None:
    assert properties is not None, "the endpoint ignored the request for receiver runtime metrics"
    info = LocalEventLog.open(endpoint.event_log).partition_info(partition_id)
    assert properties["sequence_number"] == info.last_enqueued_sequence_number
    assert properties["offset"] == str(info.last_enqueued_offset)
    assert info.last_enqueued_time is not None
    assert abs(properties["enqueued_time"] - info.last_enqueued_time) < timedelta(milliseconds=1)
    assert abs(properties["retrieval_time"] - datetime.now(UTC)) < timedelta(seconds=WAIT_SECONDS)


def test_every_section_and_body_type_round_trips_sync(endpoint: Endpoint) -> None:
    with EventHubProducerClient.from_connection_string(**endpoint.client_options()) as producer:
        batch = producer.create_batch(partition_id="1")
        for message in annotated_messages():
            batch.add(message)
        producer.send_batch(batch)
        producer.send_event(EventData(b"last"), partition_id="1")  # one more, so the metrics run ahead

    received: list[EventData] = []
    metrics: list[dict[str, Any] | None] = []
    done = threading.Event()

    def on_batch(context: Any, events: list[EventData]) -> None:
        received.extend(events)
        metrics.append(context.last_enqueued_event_properties)
        if len(received) >= 4:
            done.set()

    client = EventHubConsumerClient.from_connection_string(
        **endpoint.client_options(), consumer_group="$Default"
    )
    thread = threading.Thread(
        target=client.receive_batch,
        kwargs={
            "on_event_batch": on_batch,
            "partition_id": "1",
            "starting_position": "-1",
            "track_last_enqueued_event_properties": True,
        },
        daemon=True,
    )
    thread.start()
    try:
        assert done.wait(WAIT_SECONDS)
    finally:
        client.close()
        thread.join(WAIT_SECONDS)
    check_fidelity(received[:3])
    check_runtime_metrics(metrics[-1], endpoint, "1")


def test_every_section_and_body_type_round_trips_async(endpoint: Endpoint) -> None:
    async def scenario() -> tuple[list[EventData], dict[str, Any] | None]:
        options = endpoint.client_options()
        async with eventhub_aio.EventHubProducerClient.from_connection_string(**options) as producer:
            await producer.send_batch(annotated_messages(), partition_id="3")
            await producer.send_event(EventData(b"last"), partition_id="3")
        received: list[EventData] = []
        metrics: list[dict[str, Any] | None] = []
        enough = asyncio.Event()

        async def on_batch(context: Any, events: list[EventData]) -> None:
            received.extend(events)
            metrics.append(context.last_enqueued_event_properties)
            if len(received) >= 4:
                enough.set()

        client = eventhub_aio.EventHubConsumerClient.from_connection_string(
            **options, consumer_group="$Default", load_balancing_interval=0.2
        )
        async with client:
            task = asyncio.create_task(
                client.receive_batch(
                    on_event_batch=on_batch,
                    partition_id="3",
                    starting_position="-1",
                    track_last_enqueued_event_properties=True,
                )
            )
            async with asyncio.timeout(WAIT_SECONDS):
                await enough.wait()
            await client.close()
            await task
        return received, metrics[-1]

    received, metrics = asyncio.run(scenario())
    check_fidelity(received[:3])
    check_runtime_metrics(metrics, endpoint, "3")


def first_event(endpoint: Endpoint, partition_id: str) -> tuple[EventData, dict[str, Any] | None]:
    """The partition's first event through `receive`, and the runtime metrics its context reports."""
    seen: list[tuple[EventData, dict[str, Any] | None]] = []
    done = threading.Event()

    def on_event(context: Any, event: EventData | None) -> None:
        if event is not None:
            seen.append((event, context.last_enqueued_event_properties))
            done.set()

    client = EventHubConsumerClient.from_connection_string(
        **endpoint.client_options(), consumer_group="$Default"
    )
    thread = threading.Thread(
        target=client.receive,
        kwargs={"on_event": on_event, "partition_id": partition_id, "starting_position": "-1"},
    )
    thread.start()
    try:
        assert done.wait(WAIT_SECONDS)
    finally:
        client.close()
        thread.join(WAIT_SECONDS)
    return seen[0]


def test_without_the_request_there_are_no_runtime_metrics(endpoint: Endpoint) -> None:
    with EventHubProducerClient.from_connection_string(**endpoint.client_options()) as producer:
        producer.send_event(EventData(b"x"), partition_id="0")
    event, metrics = first_event(endpoint, "0")
    assert not event.raw_amqp_message.delivery_annotations
    assert not metrics


@pytest.mark.parametrize("body", [b"", b"x" * 200_000])
def test_bodies_of_any_size_come_back_byte_for_byte(endpoint: Endpoint, body: bytes) -> None:
    """An empty body and one spread over several transfer frames each way."""
    with EventHubProducerClient.from_connection_string(**endpoint.client_options()) as producer:
        producer.send_event(EventData(body), partition_id="2")
    event, _ = first_event(endpoint, "2")
    assert b"".join(event.body) == body

"""A batch handed to a function as the Python worker hands it over: Datums decoded by azure.functions."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from azure.functions.eventhub import EventHubTriggerConverter

from paysim_cli.hub.transport import ReceivedEvent
from paysim_cli.pipeline.invocation import PartitionContext, invoke, trigger_data
from paysim_cli.pipeline.loader import HostedFunction

ENQUEUED = datetime(2025, 11, 28, 0, 0, 1, 250_000, tzinfo=UTC)
EVENTS = [
    ReceivedEvent(b'{"n":0}', "2", 7, 700, ENQUEUED, "customer-1", {"run_id": "r", "intended_ms": 5}),
    ReceivedEvent(b"\xff not json", "2", 8, 707, ENQUEUED, None, {}),
]
CONTEXT = PartitionContext("payments", "pipeline", "2")


def test_trigger_metadata_has_the_hosts_shapes() -> None:
    data, metadata = trigger_data(EVENTS, CONTEXT, "consume")
    assert data.type == "collection_bytes"
    assert data.value.bytes == [b'{"n":0}', b"\xff not json"]
    assert {datum.type for datum in metadata.values()} == {"json"}
    assert orjson.loads(metadata["PartitionContext"].value) == {
        "FullyQualifiedNamespace": "localhost",
        "EventHubName": "payments",
        "ConsumerGroup": "pipeline",
        "PartitionId": "2",
    }
    first = orjson.loads(metadata["SystemPropertiesArray"].value)[0]
    assert first["SequenceNumber"] == first["x-opt-sequence-number"] == 7
    assert (first["Offset"], first["x-opt-offset"], first["PartitionKey"]) == (700, "700", "customer-1")
    assert orjson.loads(metadata["PropertiesArray"].value) == [{"run_id": "r", "intended_ms": 5}, {}]
    assert orjson.loads(metadata["SequenceNumberArray"].value) == [7, 8]
    assert orjson.loads(metadata["sys"].value)["MethodName"] == "consume"


def test_the_function_gets_event_hub_events_as_the_library_decodes_them() -> None:
    received: list[object] = []
    result = invoke(
        HostedFunction("consume", "batch", lambda batch: received.append(batch) or "done"), EVENTS, CONTEXT
    )
    assert result == "done"
    (batch,) = received
    data, metadata = trigger_data(EVENTS, CONTEXT, "consume")
    expected = EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
    for event, reference in zip(batch, expected, strict=True):  # type: ignore[call-overload]
        assert event.get_body() == reference.get_body()
        assert event.sequence_number == reference.sequence_number
        assert event.offset == reference.offset
        assert event.enqueued_time == reference.enqueued_time == ENQUEUED
        assert event.partition_key == reference.partition_key
    assert [event.sequence_number for event in batch] == [7, 8]  # type: ignore[attr-defined]
    assert batch[0].metadata["PropertiesArray"][0]["run_id"] == "r"  # type: ignore[index]

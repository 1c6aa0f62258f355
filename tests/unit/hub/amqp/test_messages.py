"""Events as AMQP messages: what the endpoint stores of each message at publish time, and that delivering
it gives back every section the sender set, with the service's annotations and runtime metrics added."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.eventhub import EventData, EventDataBatch
from azure.eventhub._pyamqp.message import Header

from paysim_cli.hub.amqp import codec, messages
from paysim_cli.hub.transport import OutgoingEvent, PartitionInfo, ReceivedEvent

MOMENT = datetime(2025, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)


def received(event: OutgoingEvent, sequence_number: int = 3_000_000_000) -> ReceivedEvent:
    """The event as the log hands it back to the endpoint."""
    return ReceivedEvent(
        event.body,
        "2",
        sequence_number,
        42,
        MOMENT,
        event.partition_key,
        event.properties,
        event.amqp_message,
    )


def delivered(event: ReceivedEvent, metrics: messages.RuntimeMetrics | None = None) -> Any:
    (payload,) = messages.delivery_payloads([event], metrics)
    return codec.decode_message(payload)


def test_the_sdks_batch_message_decodes_into_the_logs_events() -> None:
    batch = EventDataBatch(partition_key="merchant-1")
    for number in range(3):
        event = EventData(f"body {number}")
        event.properties = {
            "n": number,
            "label": "x",
            "when": datetime(2025, 1, 1, tzinfo=UTC),
            "raw": b"\xff",
        }
        batch.add(event)
    key, events = messages.decode_events(codec.encode_message(batch._message), codec.BATCH_FORMAT)
    assert key == "merchant-1"
    assert [event.body for event in events] == [b"body 0", b"body 1", b"body 2"]
    assert events[1].partition_key == "merchant-1"
    assert dict(events[1].properties) == {"n": 1, "label": "x", "when": 1735689600000, "raw": "ff"}
    assert all(event.amqp_message for event in events)


def test_every_section_the_sender_set_is_delivered_as_sent() -> None:
    sent = codec.Message(
        header=Header(durable=True, priority=7, ttl=60_000, first_acquirer=None, delivery_count=None),
        delivery_annotations={b"x-trace": b"abc"},
        message_annotations={b"x-opt-partition-key": b"k-1", b"x-custom": 5, b"x-opt-sequence-number": 9},
        properties=codec.Properties(
            message_id=b"m-1", correlation_id=b"c-9", content_type=b"application/json", subject=b"payment"
        ),
        application_properties={b"kind": b"payment", b"n": 3},
        data=[b'{"a":', b"1}"],
        footer={b"x-hash": b"h"},
    )
    key, (event,) = messages.decode_events(codec.encode_message(sent), 0)
    assert key == event.partition_key == "k-1"
    assert event.body == b'{"a":1}'  # the log's body column: the data joined
    message = delivered(received(event))
    assert message.header == sent.header
    assert message.delivery_annotations == {b"x-trace": b"abc"}
    assert message.properties.message_id == b"m-1"
    assert message.properties.correlation_id == b"c-9"
    assert message.properties.content_type == b"application/json"
    assert message.properties.subject == b"payment"
    assert message.application_properties == {b"kind": b"payment", b"n": 3}
    assert message.data == [b'{"a":', b"1}"]  # two data sections stay two
    assert message.footer == {b"x-hash": b"h"}
    # The service's annotations replace the sender's values for them; the sender's own ones stay.
    assert message.message_annotations == {
        b"x-opt-sequence-number": 3_000_000_000,
        b"x-opt-offset": b"42",
        b"x-opt-enqueued-time": 1738324800123,
        b"x-opt-partition-key": b"k-1",
        b"x-custom": 5,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [({"value": {b"a": 1}}, "value"), ({"sequence": [[1, 2], [b"x"]]}, "sequence")],
)
def test_value_and_sequence_bodies_are_delivered_with_their_body_type(
    body: dict[str, Any], field: str
) -> None:
    _, (event,) = messages.decode_events(codec.encode_message(codec.Message(**body)), 0)
    message = delivered(received(event))
    assert getattr(message, field) == body[field]
    assert message.data is None
    # The log's body column holds the encoded body sections, for consumers of the log itself.
    assert codec.decode_message(event.body).__getattribute__(field) == body[field]


def test_an_event_of_the_logs_own_writer_is_delivered_with_system_annotations() -> None:
    event = ReceivedEvent(b"{}", "2", 7, 42, MOMENT, None, {"big": 2**40, "s": "v", "f": 1.5})
    message = delivered(event)
    assert message.data == [b"{}"]
    assert message.message_annotations == {
        b"x-opt-sequence-number": 7,
        b"x-opt-offset": b"42",
        b"x-opt-enqueued-time": 1738324800123,
    }
    assert message.application_properties == {b"big": 2**40, b"s": b"v", b"f": 1.5}
    assert message.delivery_annotations is None


def test_runtime_metrics_join_the_senders_delivery_annotations() -> None:
    sent = codec.Message(
        delivery_annotations={b"x-trace": b"t", b"last_enqueued_offset": b"forged"}, data=[b"x"]
    )
    _, (event,) = messages.decode_events(codec.encode_message(sent), 0)
    info = PartitionInfo("2", 0, 99, 5000, MOMENT, False)
    metrics = messages.RuntimeMetrics.of(info, datetime(2025, 2, 1, tzinfo=UTC))
    assert delivered(received(event), metrics).delivery_annotations == {
        b"x-trace": b"t",
        b"last_enqueued_sequence_number": 99,
        b"last_enqueued_offset": b"5000",
        b"last_enqueued_time_utc": 1738324800123,
        b"runtime_info_retrieval_time_utc": 1738368000000,
    }
    empty = messages.RuntimeMetrics.of(PartitionInfo("2", 0, -1, -1, None, True), MOMENT)
    annotations = delivered(received(event), empty).delivery_annotations
    assert annotations[b"last_enqueued_time_utc"] == messages.NO_TIME_MS


def test_large_annotations_and_bodies_use_the_32_bit_encodings() -> None:
    big = {f"x-key-{number}".encode(): b"v" * 40 for number in range(20)}
    sent = codec.Message(message_annotations=big, data=[b"b" * 70_000])
    _, (event,) = messages.decode_events(codec.encode_message(sent), 0)
    message = delivered(replace(received(event), partition_key="p" * 300))
    assert message.data == [b"b" * 70_000]
    assert message.message_annotations[b"x-opt-partition-key"] == b"p" * 300
    assert {name: message.message_annotations[name] for name in big} == big


def test_an_event_needs_a_body() -> None:
    payload = codec.encode_message(codec.Message(application_properties={b"a": 1}))
    with pytest.raises(codec.AmqpError, match="needs a body"):
        messages.decode_events(payload, 0)


@pytest.mark.parametrize(
    ("annotations", "match"),
    [
        ({b"x-opt-partition-key": b"\xff\xfe"}, "not UTF-8"),  # a binary key that is no text
        ({5: b"v"}, None),  # a ulong key is kept
    ],
)
def test_annotation_keys_and_partition_keys_are_checked(
    annotations: dict[Any, Any], match: str | None
) -> None:
    payload = codec.encode_message(codec.Message(message_annotations=annotations, data=[b"x"]))
    if match is None:
        _, (event,) = messages.decode_events(payload, 0)
        assert delivered(received(event)).message_annotations[5] == b"v"
        return
    with pytest.raises(codec.AmqpError, match=match):
        messages.decode_events(payload, 0)


def test_an_annotation_key_that_is_no_symbol_is_refused() -> None:
    # A message-annotations map keyed by a string (0xa1): annotation keys are symbols or ulongs.
    payload = b"\x00\x53\x72\xc1\x07\x02\xa1\x01k\xa1\x01v" + b"\x00\x53\x75\xa0\x01x"
    with pytest.raises(codec.AmqpError, match="symbols or ulongs"):
        messages.decode_events(payload, 0)


def _sdk_batch_events(**batch: Any) -> list[memoryview]:
    """The inner messages of an SDK batch holding a spread of the events senders make: in each five, the
    first three have the common shape, the last two not (binary and timestamp values, long strings)."""
    sdk_batch = EventDataBatch(**batch)
    bodies = [b"", b"x", b"y" * 255, b"z" * 256, b'{"amount_minor": 1200}' * 30]
    properties: list[dict[str, Any]] = [
        {},
        {"run_id": "r-1", "intended_ms": 1_764_600},
        {"n": 5, "m": -200, "k": 70_000, "f": 1.5, "t": True, "u": False, "s": "é" * 10},
        {"raw": b"\xff", "when": datetime(2025, 1, 1, tzinfo=UTC)},
        {"k" * 300: "long name", "v": "v" * 300},
    ]
    for number, body in enumerate(bodies * len(properties)):
        event = EventData(body)
        event.properties = properties[number % len(properties)]
        sdk_batch.add(event)
    envelope = codec.decode_message(codec.encode_message(sdk_batch._message))
    return [memoryview(inner) for inner in envelope.data]


def test_the_common_event_shape_reads_as_the_general_decoder_reads_it() -> None:
    from paysim_cli.hub.amqp.encoding import outgoing_message

    inner = _sdk_batch_events(partition_key="merchant-1") + _sdk_batch_events()
    inner += [
        memoryview(outgoing_message(b"{}", key, {"run_id": "r", "intended_ms": 2**41}))
        for key in ("c-1", None, "", "ü" * 40)
    ]
    fast = [messages._common_event(message.tobytes(), "envelope") for message in inner]
    for message, read in zip(inner, fast, strict=True):
        assert read is None or read == messages._decoded_event(message, "envelope")
    # The shapes paysim's publisher and plain SDK senders make take the direct read.
    common = [number % 5 < 3 for number in range(50)] + [True] * 4
    assert [read is not None for read in fast] == common


def test_a_damaged_event_the_general_decoder_refuses_is_never_read_directly() -> None:
    import random

    from paysim_cli.hub.amqp.encoding import outgoing_message

    shuffle = random.Random(7)
    original = outgoing_message(b'{"a": 1}' * 40, "merchant-7", {"run_id": "r", "n": 3, "t": True})
    for _ in range(3_000):
        damaged = bytearray(original)
        if shuffle.random() < 0.3:
            damaged = damaged[: shuffle.randrange(len(damaged))]
        else:
            damaged[shuffle.randrange(len(damaged))] = shuffle.randrange(256)
        fast = messages._common_event(bytes(damaged), None)
        try:
            general = messages._decoded_event(memoryview(bytes(damaged)), None)
        except (codec.AmqpError, UnicodeDecodeError):
            assert fast is None
        else:
            assert fast is None or fast == general


def test_a_plain_stored_message_is_delivered_as_its_parts_would_be(monkeypatch: pytest.MonkeyPatch) -> None:
    from paysim_cli.hub.amqp.encoding import outgoing_message

    inner = _sdk_batch_events(partition_key="k") + [
        memoryview(outgoing_message(b"{}" * 200, key, {"run_id": "r", "intended_ms": 2**41}))
        for key in ("c-1", None)
    ]
    events = [received(messages._decoded_event(message, None)) for message in inner]
    events += [
        ReceivedEvent(b"{}", "2", 7, 42, MOMENT, None, {"n": 1}),
        ReceivedEvent(b"", "2", 8, 43, MOMENT),
    ]
    direct = list(messages.delivery_payloads(events, None))
    assert sum(messages._plain(event.amqp_message or messages._stored_form(event)) for event in events) >= 4
    monkeypatch.setattr(messages, "_plain", lambda stored: False)
    assert direct == list(messages.delivery_payloads(events, None))

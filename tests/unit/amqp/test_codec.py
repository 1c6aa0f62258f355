"""The endpoint's codec seam over the SDK's `_pyamqp` internals (ADR 0008).

The first tests fail loudly when an azure-eventhub upgrade moves or changes what the endpoint uses: the
symbols must exist with the shape the endpoint relies on, and known frames must encode to the exact
bytes the SDK client accepts (full-length field lists) and decode back. The rest pin the checks run
before the SDK decoder, and the mapping between AMQP messages and the log's events.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.eventhub import EventData, EventDataBatch
from azure.eventhub._pyamqp import _decode, _encode, endpoints, error, message, outcomes, performatives

from paysim_cli.hub.amqp import codec
from paysim_cli.hub.transport import ReceivedEvent

# Golden frames, as azure-eventhub 5.15 encodes them: an open with all ten fields (nulls included) and a
# settled single-frame transfer on channel 3 carrying b"PAYLOAD".
OPEN_FRAME = "0000002902000000005310c01c0aa10670617973696d4070000100006000ff700003a9804040404040"
TRANSFER_FRAME = "0000002902000003005314c0150b52015207a00400000007435601560040404040405041594c4f4144"


def test_the_sdk_internals_the_endpoint_uses_exist() -> None:
    for module, names in {
        _encode: ("encode_frame", "encode_payload"),
        _decode: ("decode_frame", "decode_payload", "_DECODE_BY_CONSTRUCTOR"),
        performatives: ("OpenFrame", "BeginFrame", "AttachFrame", "FlowFrame", "TransferFrame", "SASLInit"),
        endpoints: ("Source", "Target"),
        outcomes: ("Accepted", "Rejected"),
        error: ("AMQPError",),
        message: ("Message", "Properties"),
    }.items():
        for name in names:
            assert hasattr(module, name), (
                f"azure.eventhub._pyamqp {module.__name__}.{name} is gone: see ADR 0008"
            )
    assert performatives.AttachFrame._fields[:3] == ("name", "handle", "role")
    assert performatives.TransferFrame._fields[-1] == "payload"
    assert message.Message._fields[5] == "data"
    # Every constructor the pre-decoder lets through must be one the SDK decoder handles.
    decodable = {code for code, decode in enumerate(_decode._DECODE_BY_CONSTRUCTOR) if decode is not None}
    assert decodable >= codec.KNOWN_CONSTRUCTORS


def test_known_frames_encode_to_the_same_bytes_and_decode_back() -> None:
    opened = codec.Open(
        container_id="paysim",
        hostname=None,
        max_frame_size=65536,
        channel_max=255,
        idle_timeout=240000,
        outgoing_locales=None,
        incoming_locales=None,
        offered_capabilities=None,
        desired_capabilities=None,
        properties=None,
    )
    assert codec.encode_frame(0, opened).hex() == OPEN_FRAME
    assert codec.decode_performative(memoryview(bytes.fromhex(OPEN_FRAME))[8:]) == opened._replace(
        container_id=b"paysim"
    )
    transfer = codec.Transfer(
        handle=1,
        delivery_id=7,
        delivery_tag=b"\0\0\0\x07",
        message_format=0,
        settled=True,
        more=False,
        payload=b"PAYLOAD",
    )
    frame = bytes.fromhex(TRANSFER_FRAME)
    assert codec.encode_frame(3, transfer) == frame
    header = codec.parse_frame_header(frame[:8], 1 << 20)
    assert (header.size, header.type, header.channel) == (len(frame), codec.AMQP_FRAME, 3)
    decoded = codec.decode_performative(memoryview(frame)[8 + header.body_offset :])
    assert (decoded.handle, decoded.delivery_id, decoded.settled, decoded.payload) == (1, 7, True, b"PAYLOAD")


def test_short_field_lists_from_other_clients_are_padded() -> None:
    close = codec.decode_performative(memoryview(b"\x00\x53\x18\x45"))  # close as the empty list
    assert close == codec.Close(error=None)
    detach = codec.decode_performative(memoryview(b"\x00\x53\x16\xc0\x03\x01\x52\x05"))
    assert detach == codec.Detach(handle=5, closed=None, error=None)
    assert codec.terminus(codec.Source, [b"payments"]).address == b"payments"


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
    payload = codec.encode_message(batch._message)
    key, events = codec.decode_events(payload, codec.BATCH_FORMAT)
    assert key == "merchant-1"
    assert [event.body for event in events] == [b"body 0", b"body 1", b"body 2"]
    assert events[1].partition_key == "merchant-1"
    assert dict(events[1].properties) == {"n": 1, "label": "x", "when": 1735689600000, "raw": "ff"}


def test_a_value_body_is_refused() -> None:
    payload = codec.encode_message(codec.Message(value={"a": 1}))
    with pytest.raises(codec.AmqpError, match="data sections") as refused:
        codec.decode_events(payload, 0)
    assert refused.value.condition == b"amqp:not-implemented"


def test_events_encode_with_the_system_annotations() -> None:
    moment = datetime(2025, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)
    event = ReceivedEvent(b"{}", "2", 3_000_000_000, 42, moment, "key", {"big": 2**40, "s": "v", "f": 1.5})
    decoded = codec.decode_message(codec.encode_event(event))
    assert decoded.data == [b"{}"]
    assert decoded.message_annotations == {
        b"x-opt-sequence-number": 3_000_000_000,
        b"x-opt-offset": b"42",
        b"x-opt-enqueued-time": 1738324800123,
        b"x-opt-partition-key": b"key",
    }
    assert decoded.application_properties == {b"big": 2**40, b"s": b"v", b"f": 1.5}


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x53\x75\xa0\x05abc",  # data section shorter than its length
        b"\xa1\x01x",  # not a section
        b"\x00\x80\x00\x00\x00\x00\x00\x00\x00\x75\xa0\x00",  # section descriptor as a full ulong
        b"\x00\x53\x74\xa1\x01x",  # application properties that are not a map
        b"\x00\x53\x75\x45",  # a data section holding a list
        b"\x00\x53\x74\xc1\x05\x02\xc0\x01\x00\x40",  # a list as a map key
        b"\x00\x53\x75" + b"\x00\x53\x75" * 40 + b"\xa0\x00",  # nested too deep
        b"\x00\x53\x72\xd1\x00\x00\x00\x04\x00\x00\x00\x03",  # a map with an odd count
        b"\x00\x53\x75\xe0\x02\x01\x00",  # an array of described values
        b"\x00\x53\x75\xc0\x03\x00\x40\x40",  # a list whose size disagrees with its elements
    ],
)
def test_malformed_messages_are_decode_errors(payload: bytes) -> None:
    with pytest.raises(codec.ProtocolViolation) as violation:
        codec.decode_message(payload)
    assert violation.value.condition == b"amqp:decode-error"


def test_frame_headers_are_checked() -> None:
    with pytest.raises(codec.ProtocolViolation, match="invalid frame header"):
        codec.parse_frame_header(b"\x00\x00\x00\x08\x01\x00\x00\x00", 512)
    with pytest.raises(codec.ProtocolViolation, match="exceeds max-frame-size"):
        codec.parse_frame_header(b"\x00\x00\x10\x00\x02\x00\x00\x00", 512)
    with pytest.raises(codec.ProtocolViolation, match="described list"):
        codec.terminus(codec.Source, b"not a list")

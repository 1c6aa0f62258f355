"""The endpoint's codec seam over the SDK's `_pyamqp` internals (ADR 0008).

The first tests fail loudly when an azure-eventhub upgrade moves or changes what the endpoint uses: the
symbols must exist with the shape the endpoint relies on, and known frames must encode to the exact
bytes the SDK client accepts (full-length field lists) and decode back. The rest pin the checks run
before the SDK decoder, and the mapping between AMQP messages and the log's events.
"""

from __future__ import annotations

import pytest
from azure.eventhub._pyamqp import _decode, _encode, endpoints, error, message, outcomes, performatives

from paysim_cli.hub.amqp import codec

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


@pytest.mark.parametrize(
    ("handle", "delivery_id", "more", "payload"),
    [(1, 7, False, b"PAYLOAD"), (0, 0, True, b""), (300, 70_000, False, b"x" * 300), (255, None, True, b"y")],
)
def test_transfer_frames_are_built_as_the_sdk_encodes_them(
    handle: int, delivery_id: int | None, more: bool, payload: bytes
) -> None:
    """The endpoint frames its deliveries directly; the bytes must be the SDK encoder's."""
    if delivery_id is None:
        expected = codec.Transfer(handle=handle, settled=True, more=more, payload=payload)
    else:
        expected = codec.Transfer(
            handle=handle,
            delivery_id=delivery_id,
            delivery_tag=delivery_id.to_bytes(4, "big"),
            message_format=0,
            settled=True,
            more=more,
            payload=payload,
        )
    frame = codec.transfer_frame(5, handle, delivery_id, more, payload)
    assert frame == codec.encode_frame(5, expected)
    assert codec.transfer_overhead(handle, delivery_id) == len(frame) - len(payload)


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
        b"\x00\x53\x73\x45\x00\x53\x73\x45\x00\x53\x75\xa0\x00",  # two properties sections
        b"\x00\x53\x75\xa0\x00\x00\x53\x77\x40",  # a data section and a value section
        b"\x00\x53\x70\xc0\x07\x06\x40\x40\x40\x40\x40\x40",  # a header with six fields
        b"\x00\x53\x79\x45",  # no such section
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

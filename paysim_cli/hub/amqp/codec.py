"""AMQP 1.0 framing over the azure-eventhub SDK's own `_pyamqp` encoder and decoder (ADR 0008).

The SDK's pure-Python client only accepts performatives encoded as it encodes them (full-length field
lists), so the endpoint encodes with the same functions. Its decoder trusts its input: counts are
allocated before they are checked, truncation surfaces as IndexError. So every body is first walked by
`_check_encoding`, which bounds sizes, counts and nesting, and only then handed to the SDK decoder.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.eventhub._pyamqp import _decode, _encode, endpoints, error, message, outcomes, performatives

from paysim_cli.hub.transport import OutgoingEvent, ReceivedEvent

AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
TLS_HEADER = b"AMQP\x02\x01\x00\x00"
SASL_HEADER = b"AMQP\x03\x01\x00\x00"
EMPTY_FRAME = b"\x00\x00\x00\x08\x02\x00\x00\x00"
AMQP_FRAME = 0
SASL_FRAME = 1
# Every peer must accept frames of this size before open has negotiated a larger one.
MIN_MAX_FRAME_SIZE = 512
BATCH_FORMAT = 0x80013700
MAX_NESTING = 32

# The SDK's performatives and sections are namedtuples it types loosely: handled as Any here.
Open: Any = performatives.OpenFrame
Begin: Any = performatives.BeginFrame
Attach: Any = performatives.AttachFrame
Flow: Any = performatives.FlowFrame
Transfer: Any = performatives.TransferFrame
Disposition: Any = performatives.DispositionFrame
Detach: Any = performatives.DetachFrame
End: Any = performatives.EndFrame
Close: Any = performatives.CloseFrame
SaslMechanisms: Any = performatives.SASLMechanism
SaslInit: Any = performatives.SASLInit
SaslOutcome: Any = performatives.SASLOutcome
Source: Any = endpoints.Source
Target: Any = endpoints.Target
Accepted: Any = outcomes.Accepted
Rejected: Any = outcomes.Rejected
ErrorInfo: Any = error.AMQPError
Message: Any = message.Message
Properties: Any = message.Properties
TYPE = "TYPE"
VALUE = "VALUE"
# The SDK's type names for values that must not be encoded as the smallest Python-inferred type.
LONG, STRING, SYMBOL, TIMESTAMP, ARRAY = "LONG", "STRING", "SYMBOL", "TIMESTAMP", "ARRAY"

_SASL_PERFORMATIVES = (SaslMechanisms, SaslInit, SaslOutcome)
_PERFORMATIVES: dict[int, Any] = {
    frame._code: frame
    for frame in (Open, Begin, Attach, Flow, Transfer, Disposition, Detach, End, Close, *_SASL_PERFORMATIVES)
}


class AmqpError(Exception):
    """A refusal with an AMQP error condition: a link detached, a delivery rejected."""

    def __init__(self, condition: bytes, description: str) -> None:
        super().__init__(description)
        self.condition = condition
        self.description = description

    def info(self) -> Any:
        return ErrorInfo(condition=self.condition, description=self.description)


class ProtocolViolation(AmqpError):
    """The peer broke the protocol: its connection is closed with this error."""


def decode_error(description: str) -> ProtocolViolation:
    return ProtocolViolation(b"amqp:decode-error", description)


@dataclass(frozen=True, slots=True)
class FrameHeader:
    size: int
    type: int
    channel: int
    body_offset: int


def parse_frame_header(header: bytes, max_frame_size: int) -> FrameHeader:
    """The frame header's fields, or a framing error for sizes and offsets no valid frame has."""
    size, data_offset, frame_type, channel = struct.unpack(">IBBH", header)
    if size < 8 or data_offset < 2 or data_offset * 4 > size:
        raise ProtocolViolation(b"amqp:connection:framing-error", f"invalid frame header {header.hex()}")
    if size > max_frame_size:
        raise ProtocolViolation(
            b"amqp:connection:framing-error",
            f"a frame of {size} bytes exceeds max-frame-size {max_frame_size}",
        )
    return FrameHeader(size, frame_type, channel, data_offset * 4 - 8)


def decode_performative(body: memoryview) -> Any:
    """The performative namedtuple a frame body holds, padded to full length (a transfer keeps its
    payload)."""
    if len(body) < 4 or body[0] != 0x00 or body[1] != 0x53:
        raise decode_error("a frame body must start with a described performative")
    code, list_type = body[2], body[3]
    kind = _PERFORMATIVES.get(code)
    if kind is None:
        raise decode_error(f"unknown performative 0x{code:02x}")
    _check_encoding(body, 3, len(body) if code != Transfer._code else None)
    if list_type == 0x45:  # the empty list, which the SDK decoder misreads
        fields: list[Any] = [] if code != Transfer._code else [bytes(body[4:])]
    elif list_type in (0xC0, 0xD0):
        fields = _sdk_decoded(_decode.decode_frame, body)[1]
    else:
        raise decode_error(f"a performative is a list, not constructor 0x{list_type:02x}")
    if code == Transfer._code:
        *fields, payload = fields
        return Transfer(*_padded(fields, len(Transfer._fields) - 1), payload=bytes(payload))
    return kind(*_padded(fields, len(kind._fields)))


def _padded(fields: Sequence[Any], length: int) -> list[Any]:
    if len(fields) > length:
        raise decode_error(f"{len(fields)} fields where the performative has {length}")
    return [*fields, *([None] * (length - len(fields)))]


def terminus(kind: Any, fields: Any) -> Any:
    """A decoded source or target (a field list, or None) as the SDK's namedtuple, for echoing it back."""
    if fields is None:
        return None
    if not isinstance(fields, list):
        raise decode_error("a source or target is a described list")
    return kind(*_padded(fields, len(kind._fields)))


def encode_frame(channel: int, performative: Any, frame_type: int = AMQP_FRAME) -> bytes:
    header, body = _encode.encode_frame(performative, bytes([frame_type]))
    return header + channel.to_bytes(2, "big") + (body or b"")


def _sdk_decoded(decode: Any, buffer: memoryview) -> Any:
    try:
        return decode(buffer)
    except (TypeError, ValueError) as failure:  # well-formed but of the wrong shape, e.g. a list as a map key
        raise decode_error(f"malformed value: {failure}") from failure


def decode_message(payload: bytes | memoryview) -> Any:
    """An AMQP message (its sections) as the SDK's `Message`, after checking its encoding and shape."""
    view = memoryview(payload)
    position = 0
    while position < len(view):
        # The SDK reads a section's descriptor as one byte: only the small-ulong section codes qualify.
        opening = bytes(view[position : position + 3])
        if len(opening) < 3 or opening[:2] != b"\x00\x53" or not 0x70 <= opening[2] <= 0x78:
            raise decode_error("a message is a sequence of described sections")
        position = _check_encoding(view, position, len(view))
    decoded = _sdk_decoded(_decode.decode_payload, view)
    maps = (decoded.message_annotations, decoded.application_properties)
    if any(section is not None and not isinstance(section, dict) for section in maps) or any(
        not isinstance(section, bytes) for section in decoded.data or ()
    ):
        raise decode_error("a message section holds a value of the wrong type")
    return decoded


def encode_message(outgoing: Any) -> bytes:
    output = bytearray()
    _encode.encode_payload(output, outgoing)
    return bytes(output)


def text(value: Any) -> str:
    """A decoded string or symbol (the SDK decodes both to bytes) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_events(payload: bytes, message_format: int) -> tuple[str | None, list[OutgoingEvent]]:
    """The events a delivery carries and its partition key: one message, or a batch (format 0x80013700)
    whose data sections each hold an encoded message."""
    outer = decode_message(payload)
    envelope_key = _partition_key(outer)
    if message_format == BATCH_FORMAT:
        events = [_event(decode_message(section), envelope_key) for section in outer.data or ()]
    else:
        events = [_event(outer, envelope_key)]
    return envelope_key or next(
        (event.partition_key for event in events if event.partition_key), None
    ), events


def _partition_key(decoded: Any) -> str | None:
    key = (decoded.message_annotations or {}).get(b"x-opt-partition-key")
    return None if key is None else text(key)


def _event(decoded: Any, envelope_key: str | None) -> OutgoingEvent:
    if decoded.data is None:
        raise AmqpError(
            b"amqp:not-implemented", "the local event hub stores events whose body is AMQP data sections"
        )
    return OutgoingEvent(
        body=b"".join(decoded.data),
        partition_key=_partition_key(decoded) or envelope_key,
        properties={
            text(name): _property(value) for name, value in (decoded.application_properties or {}).items()
        },
    )


def _property(value: Any) -> str | int | float | bool:
    """An application property as the log keeps it: strings (decoded as bytes), numbers and booleans;
    anything else (uuid, timestamp, binary that is not UTF-8) as its text."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return value.hex()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def encode_event(event: ReceivedEvent) -> bytes:
    """An event as Event Hubs delivers it: the body in one data section, the system annotations, the
    application properties."""
    annotations: dict[bytes, Any] = {
        b"x-opt-sequence-number": {TYPE: LONG, VALUE: event.sequence_number},
        b"x-opt-offset": {TYPE: STRING, VALUE: str(event.offset)},
        b"x-opt-enqueued-time": {TYPE: TIMESTAMP, VALUE: timestamp_ms(event.enqueued_time)},
    }
    if event.partition_key is not None:
        annotations[b"x-opt-partition-key"] = {TYPE: STRING, VALUE: event.partition_key}
    return encode_message(
        Message(
            message_annotations=annotations,
            application_properties={name: typed(value) for name, value in event.properties.items()} or None,
            data=[event.body],
        )
    )


def typed(value: Any) -> Any:
    """A Python value for the SDK encoder, with integers as AMQP longs (it would pick a 32-bit int)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {TYPE: LONG, VALUE: value}
    if isinstance(value, str):
        return {TYPE: STRING, VALUE: value}
    return value


def string_array(values: Iterable[str]) -> dict[str, Any]:
    return {TYPE: ARRAY, VALUE: [{TYPE: STRING, VALUE: value} for value in values]}


def timestamp_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Encoded width of each fixed-width constructor the SDK decoder knows (the rest are variable or compound).
_FIXED_WIDTH = {
    **dict.fromkeys((0x40, 0x41, 0x42, 0x43, 0x44, 0x45), 0),
    **dict.fromkeys((0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56), 1),
    **dict.fromkeys((0x60, 0x61), 2),
    **dict.fromkeys((0x70, 0x71, 0x72), 4),
    **dict.fromkeys((0x80, 0x81, 0x82, 0x83), 8),
    **dict.fromkeys((0x94, 0x98), 16),
}
_VARIABLE_SMALL = frozenset((0xA0, 0xA1, 0xA3))
_VARIABLE_LARGE = frozenset((0xB0, 0xB1, 0xB3))
_COMPOUND_SMALL = frozenset((0xC0, 0xC1))
_COMPOUND_LARGE = frozenset((0xD0, 0xD1))
KNOWN_CONSTRUCTORS = frozenset(
    (0x00, 0xE0, 0xF0, *_FIXED_WIDTH, *_VARIABLE_SMALL, *_VARIABLE_LARGE, *_COMPOUND_SMALL, *_COMPOUND_LARGE)
)


def _check_encoding(buffer: memoryview, position: int, end: int | None, depth: int = 0) -> int:
    """Where the value encoded at `position` ends; a decode error if it is unknown, truncated, nested too
    deep, or declares more elements than its bytes can hold. With `end` None the value may be followed by
    more bytes (a transfer's payload)."""
    limit = len(buffer) if end is None else end
    if position >= limit:
        raise decode_error("truncated value")
    constructor = buffer[position]
    position = _skip(buffer, position + 1, limit, constructor, depth)
    if end is not None and position > end:
        raise decode_error("truncated value")
    return position


def _skip(buffer: memoryview, position: int, limit: int, constructor: int, depth: int) -> int:
    if depth > MAX_NESTING:
        raise decode_error("values nested too deep")
    if constructor == 0x00:  # described: a descriptor, then the value
        return _check_encoding(buffer, _check_encoding(buffer, position, limit, depth + 1), limit, depth + 1)
    width = _FIXED_WIDTH.get(constructor)
    if width is not None:
        return _within(position + width, limit)
    if constructor in _VARIABLE_SMALL or constructor in _VARIABLE_LARGE:
        length_bytes = 1 if constructor in _VARIABLE_SMALL else 4
        length = int.from_bytes(_bytes(buffer, position, length_bytes, limit), "big")
        return _within(position + length_bytes + length, limit)
    if constructor in _COMPOUND_SMALL or constructor in _COMPOUND_LARGE or constructor in (0xE0, 0xF0):
        return _skip_compound(buffer, position, limit, constructor, depth)
    raise decode_error(f"unknown constructor 0x{constructor:02x}")


def _skip_compound(buffer: memoryview, position: int, limit: int, constructor: int, depth: int) -> int:
    width = 1 if constructor in _COMPOUND_SMALL or constructor == 0xE0 else 4
    size = int.from_bytes(_bytes(buffer, position, width, limit), "big")
    count = int.from_bytes(_bytes(buffer, position + width, width, limit), "big")
    end = _within(position + width + size, limit)
    # Every element takes at least one byte, so a count above the size is a lie (and an allocation bomb).
    if count > size or (constructor in (0xC1, 0xD1) and count % 2):
        raise decode_error(f"a compound value declares {count} elements in {size} bytes")
    position += 2 * width
    if constructor in (0xE0, 0xF0):
        if count:
            element = _bytes(buffer, position, 1, end)[0]
            if element == 0x00:
                raise decode_error("arrays of described values are not supported")
            position += 1
            for _ in range(count):
                position = _skip(buffer, position, end, element, depth + 1)
    else:
        for _ in range(count):
            position = _check_encoding(buffer, position, end, depth + 1)
    if position != end:
        raise decode_error("a compound value's size does not match its elements")
    return end


def _bytes(buffer: memoryview, position: int, length: int, limit: int) -> memoryview:
    _within(position + length, limit)
    return buffer[position : position + length]


def _within(position: int, limit: int) -> int:
    if position > limit:
        raise decode_error("truncated value")
    return position

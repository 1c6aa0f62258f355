"""AMQP 1.0 framing over the azure-eventhub SDK's own `_pyamqp` encoder and decoder (ADR 0008).

The SDK's pure-Python client only accepts performatives encoded as it encodes them (full-length field
lists), so the endpoint encodes with the same functions. Its decoder trusts its input: counts are
allocated before they are checked, truncation surfaces as IndexError. So every body is first walked by
`check_encoding`, which bounds sizes, counts and nesting, and only then handed to the SDK decoder.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from azure.eventhub._pyamqp import _decode, _encode, endpoints, error, message, outcomes, performatives

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


class Hangup(Exception):
    """Close the socket without a close frame (before open, or after the peer's close)."""


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
    check_encoding(body, 3, len(body) if code != Transfer._code else None)
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


class Section(NamedTuple):
    """Where one section of an encoded message lies: its code (0x70 header ... 0x78 footer) and bytes.
    (A named tuple: publishing makes a few per event, and they are the cheapest to make.)"""

    code: int
    start: int
    end: int

    @property
    def value_start(self) -> int:
        """Where the section's value starts, after its three-byte descriptor."""
        return self.start + 3


HEADER, DELIVERY_ANNOTATIONS, MESSAGE_ANNOTATIONS, PROPERTIES = 0x70, 0x71, 0x72, 0x73
APPLICATION_PROPERTIES, DATA, SEQUENCE, VALUE_BODY, FOOTER = 0x74, 0x75, 0x76, 0x77, 0x78
BODY_SECTIONS = frozenset((DATA, SEQUENCE, VALUE_BODY))
_LISTS, _MAPS, _BINARIES = frozenset((0x45, 0xC0, 0xD0)), frozenset((0xC1, 0xD1)), frozenset((0xA0, 0xB0))
# The constructors each section's value may have (an AMQP value body may hold anything).
_SECTION_VALUES: dict[int, frozenset[int] | None] = {
    HEADER: _LISTS,
    DELIVERY_ANNOTATIONS: _MAPS,
    MESSAGE_ANNOTATIONS: _MAPS,
    PROPERTIES: _LISTS,
    APPLICATION_PROPERTIES: _MAPS,
    DATA: _BINARIES,
    SEQUENCE: _LISTS,
    VALUE_BODY: None,
    FOOTER: _MAPS,
}


def message_sections(view: memoryview) -> list[Section]:
    """The sections of an encoded message, after checking each one's encoding and value type: only data
    and sequence sections repeated, one kind of body."""
    sections: list[Section] = []
    seen: set[int] = set()
    body: int | None = None
    position = 0
    while position < len(view):
        # The SDK reads a section's descriptor as one byte: only the small-ulong section codes qualify.
        if position + 4 > len(view) or view[position] != 0x00 or view[position + 1] != 0x53:
            raise decode_error("a message is a sequence of described sections")
        code, constructor = view[position + 2], view[position + 3]
        if code not in _SECTION_VALUES:
            raise decode_error("a message is a sequence of described sections")
        allowed = _SECTION_VALUES[code]
        if allowed is not None and constructor not in allowed:
            raise decode_error(f"message section 0x{code:02x} holds a value of the wrong type")
        # Not the specification's order: the SDK's own encoder writes delivery annotations last.
        if code in seen and code not in (DATA, SEQUENCE):
            raise decode_error(f"message section 0x{code:02x} is repeated")
        if code in BODY_SECTIONS:
            if body is not None and body != code:
                raise decode_error("a message body is data, sequence or value sections, not a mix")
            body = code
        seen.add(code)
        end = _section_end(view, position + 3, constructor)
        sections.append(Section(code, position, end))
        position = end
    return sections


def _section_end(view: memoryview, value_start: int, constructor: int) -> int:
    """Where a section whose value starts at `value_start` ends. The descriptor was checked by the
    caller; a data section's binary is checked here directly, as it is the most frequent value."""
    limit = len(view)
    if constructor == 0xA0 and value_start + 2 <= limit:
        end = value_start + 2 + view[value_start + 1]
    elif constructor == 0xB0 and value_start + 5 <= limit:
        end = value_start + 5 + int.from_bytes(view[value_start + 1 : value_start + 5], "big")
    else:
        return check_encoding(view, value_start, limit, depth=1)
    if end > limit:
        raise decode_error("truncated value")
    return end


def decode_sections(
    payload: bytes | memoryview, *, undecoded: frozenset[int] = frozenset()
) -> tuple[memoryview, list[Section], Any]:
    """An encoded message's bytes, its checked sections, and the SDK's `Message` of them (which also
    proves the shapes the SDK's decoder expects, e.g. no more header fields than it has).

    Sections whose code is in `undecoded` are checked but left out of the `Message`, for a caller that
    reads them from the bytes itself (the endpoint keeps bodies and annotations as they came).
    """
    view = memoryview(payload)
    sections = message_sections(view)
    decoded = [section for section in sections if section.code not in undecoded]
    if len(decoded) == len(sections):
        buffer = view
    elif len(decoded) == 1:
        buffer = view[decoded[0].start : decoded[0].end]
    else:
        buffer = memoryview(b"".join(view[section.start : section.end] for section in decoded))
    return view, sections, _sdk_decoded(_decode.decode_payload, buffer)


def decode_value(view: memoryview) -> Any:
    """One encoded value, already checked with `check_encoding`, as the SDK decodes it."""
    return _sdk_decoded(lambda buffer: _decode._DECODE_BY_CONSTRUCTOR[buffer[0]](buffer[1:])[1], view)


def decode_message(payload: bytes | memoryview) -> Any:
    """An AMQP message (its sections) as the SDK's `Message`, after checking its encoding and shape."""
    return decode_sections(payload)[2]


def encode_message(outgoing: Any) -> bytes:
    output = bytearray()
    _encode.encode_payload(output, outgoing)
    return bytes(output)


def text(value: Any) -> str:
    """A decoded string or symbol (the SDK decodes both to bytes) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def encode_uint(value: int) -> bytes:
    """An AMQP uint in its smallest encoding, as the SDK writes it."""
    if value == 0:
        return b"\x43"
    if value < 256:
        return bytes((0x52, value))
    return b"\x70" + value.to_bytes(4, "big")


_TRANSFER_DESCRIPTOR = b"\x00\x53\x14"
_SETTLED = b"\x56\x01"
_MORE = (b"\x56\x00", b"\x56\x01")
# rcv-settle-mode, state, resume, aborted, batchable: null, so the list keeps all eleven fields.
_TRANSFER_TAIL = b"\x40" * 5


def transfer_frame(channel: int, handle: int, delivery_id: int | None, more: bool, payload: bytes) -> bytes:
    """A settled transfer frame, byte for byte as the SDK's encoder writes it (see the codec test), built
    directly: deliveries to receivers are the hot path, and the generic encoder costs ~200 µs a frame."""
    if delivery_id is None:  # a continuation frame: handle and flags only
        fields = encode_uint(handle) + b"\x40\x40\x40"
    else:
        fields = encode_uint(handle) + encode_uint(delivery_id) + b"\xa0\x04" + delivery_id.to_bytes(4, "big")
        fields += b"\x43"  # message-format 0
    fields += _SETTLED + _MORE[more] + _TRANSFER_TAIL
    body = _TRANSFER_DESCRIPTOR + bytes((0xC0, len(fields) + 1, 11)) + fields
    return struct.pack(">IBBH", 8 + len(body) + len(payload), 2, 0, channel) + body + payload


def transfer_overhead(handle: int, delivery_id: int | None) -> int:
    """The bytes a transfer frame adds to its payload."""
    return len(transfer_frame(0, handle, delivery_id, False, b""))


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


def check_encoding(buffer: memoryview, position: int, end: int | None, depth: int = 0) -> int:
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
        return check_encoding(buffer, check_encoding(buffer, position, limit, depth + 1), limit, depth + 1)
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
            position = _skip_element(buffer, position, end, depth + 1)
    if position != end:
        raise decode_error("a compound value's size does not match its elements")
    return end


def element_end(buffer: memoryview, position: int, end: int) -> int:
    """Where the value at `position` ends (its bytes checked, up to `end`)."""
    return _skip_element(buffer, position, end, 0)


def _skip_element(buffer: memoryview, position: int, end: int, depth: int) -> int:
    """`check_encoding` for one element of a list or map, with the common scalars handled inline: most
    of a message's values are, and this walk is most of the endpoint's cost per published event."""
    if position >= end:
        raise decode_error("truncated value")
    constructor = buffer[position]
    width = _FIXED_WIDTH.get(constructor)
    if width is not None:
        position += 1 + width
    elif constructor in _VARIABLE_SMALL and position + 2 <= end:
        position += 2 + buffer[position + 1]
    else:
        return check_encoding(buffer, position, end, depth)
    if position > end:
        raise decode_error("truncated value")
    return position


def _bytes(buffer: memoryview, position: int, length: int, limit: int) -> memoryview:
    _within(position + length, limit)
    return buffer[position : position + length]


def _within(position: int, limit: int) -> int:
    if position > limit:
        raise decode_error("truncated value")
    return position

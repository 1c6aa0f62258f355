"""Events as AMQP messages (ADR 0017): what a delivery to the hub holds, how the endpoint stores each
event's message, and how it delivers one without re-encoding it.

Event Hubs delivers a message as its sender sent it — header, delivery and message annotations,
properties, application properties, every body section (data, sequence or value), footer — with the
service's own annotations (sequence number, offset, enqueued time, partition key) in the message
annotations and, to a receiver that asked for them, the partition's runtime metrics in the delivery
annotations. So at publish the endpoint keeps each message's sections as the bytes they came in, minus
the annotation entries the service owns (`StoredMessage` layout below), and a delivery encodes only the
handful of values that differ per event and joins bytes.

Stored layout: a fixed prefix (`_LAYOUT`: flags, header length, delivery-annotation count and length,
message-annotation count and length, length of the properties and application properties, length of
the body sections), then those parts, then the footer. When the body is one data section (the SDK's
EventData) it is not repeated: the log's body column is the body, and delivery wraps it again.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from paysim_cli.hub.amqp.codec import (
    APPLICATION_PROPERTIES,
    BATCH_FORMAT,
    BODY_SECTIONS,
    DATA,
    DELIVERY_ANNOTATIONS,
    FOOTER,
    HEADER,
    MESSAGE_ANNOTATIONS,
    PROPERTIES,
    AmqpError,
    Message,
    Section,
    decode_sections,
    decode_value,
    element_end,
    encode_message,
    text,
    timestamp_ms,
    typed,
)
from paysim_cli.hub.amqp.encoding import data_section, long, map_section, string, symbol, timestamp
from paysim_cli.hub.transport import OutgoingEvent, PartitionInfo, ReceivedEvent

SEQUENCE_NUMBER_ANNOTATION = b"x-opt-sequence-number"
OFFSET_ANNOTATION = b"x-opt-offset"
ENQUEUED_TIME_ANNOTATION = b"x-opt-enqueued-time"
PARTITION_KEY_ANNOTATION = b"x-opt-partition-key"
# The service sets these; a sender's own values for them are not kept.
SYSTEM_ANNOTATIONS = frozenset(
    (SEQUENCE_NUMBER_ANNOTATION, OFFSET_ANNOTATION, ENQUEUED_TIME_ANNOTATION, PARTITION_KEY_ANNOTATION)
)
# Receiver runtime metrics (`com.microsoft:enable-receiver-runtime-metric`), in delivery annotations.
RUNTIME_METRICS = frozenset(
    (
        b"last_enqueued_sequence_number",
        b"last_enqueued_offset",
        b"last_enqueued_time_utc",
        b"runtime_info_retrieval_time_utc",
    )
)

# What brokers send for "no time": 0001-01-01T00:00:00Z, in milliseconds since the epoch.
NO_TIME_MS = -62_135_596_800_000

_LAYOUT = struct.Struct(">BIIIIIII")
_ONE_DATA_SECTION = 0x01  # the body is the log's body column, as a single data section


class _Parts(NamedTuple):
    """A stored message split back into its parts (views into the stored bytes)."""

    flags: int
    header: memoryview
    delivery_count: int
    delivery: memoryview
    message_count: int
    message: memoryview
    middle: memoryview
    body: memoryview
    footer: memoryview

    @classmethod
    def of(cls, stored: bytes) -> _Parts:
        view = memoryview(stored)
        flags, header, delivery_count, delivery, message_count, message, middle, body = _LAYOUT.unpack_from(
            view
        )
        pieces = []
        position = _LAYOUT.size
        for length in (header, delivery, message, middle, body):
            pieces.append(view[position : position + length])
            position += length
        return cls(
            flags,
            pieces[0],
            delivery_count,
            pieces[1],
            message_count,
            pieces[2],
            pieces[3],
            pieces[4],
            view[position:],
        )


# -- publishing --------------------------------------------------------------------------------------


def decode_events(payload: bytes, message_format: int) -> tuple[str | None, list[OutgoingEvent]]:
    """The events a delivery carries and its partition key: one message, or a batch (format 0x80013700)
    whose data sections each hold an encoded message. Each event keeps its message (`amqp_message`)."""
    if message_format == BATCH_FORMAT:
        # The envelope's data sections (the events) are sliced from the bytes, not decoded by the SDK.
        view, sections, envelope = decode_sections(payload, undecoded=_ENVELOPE_UNDECODED)
        envelope_key = _partition_key(envelope)
        events = [
            _event(_binary(view, section), envelope_key) for section in sections if section.code == DATA
        ]
    else:
        envelope_key = None
        events = [_event(memoryview(payload), None)]
    return envelope_key or next(
        (event.partition_key for event in events if event.partition_key), None
    ), events


def _partition_key(decoded: Any) -> str | None:
    key = (decoded.message_annotations or {}).get(PARTITION_KEY_ANNOTATION)
    return None if key is None else _key_text(key)


def _key_text(value: Any) -> str:
    """A partition key as text: strings and symbols (decoded as bytes) must be UTF-8."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise AmqpError(b"amqp:decode-error", "the partition key is not UTF-8 text") from None
    return str(value)


# Bodies and message annotations are read from the bytes (they are stored as they came), not decoded.
_UNDECODED = frozenset((DATA, MESSAGE_ANNOTATIONS))
_ENVELOPE_UNDECODED = frozenset((DATA,))


def _event(message: memoryview, envelope_key: str | None) -> OutgoingEvent:
    """One event of a delivery: the common shape read directly, any other by the general decoder."""
    return _common_event(message.tobytes(), envelope_key) or _decoded_event(message, envelope_key)


def _decoded_event(message: memoryview, envelope_key: str | None) -> OutgoingEvent:
    """Any event, its sections checked and decoded (with the SDK's decoder for the properties)."""
    view, sections, decoded = decode_sections(message, undecoded=_UNDECODED)
    by_code: dict[int, list[Section]] = {}
    for section in sections:
        by_code.setdefault(section.code, []).append(section)
    body_sections = [section for section in sections if section.code in BODY_SECTIONS]
    if not body_sections:
        raise AmqpError(b"amqp:decode-error", "an event needs a body: data, sequence or value sections")
    if len(body_sections) == 1 and body_sections[0].code == DATA:
        flags, body, stored_body = _ONE_DATA_SECTION, bytes(_binary(view, body_sections[0])), b""
    else:
        stored_body = b"".join(view[s.start : s.end] for s in body_sections)
        # The log's body column: the data joined, or (sequence, value) the encoded body sections.
        body = (
            b"".join(_binary(view, s) for s in body_sections)
            if body_sections[0].code == DATA
            else stored_body
        )
        flags = 0
    delivery_count, delivery, _ = _map_entries(view, by_code.get(DELIVERY_ANNOTATIONS), RUNTIME_METRICS)
    message_count, annotations, partition_key = _map_entries(
        view, by_code.get(MESSAGE_ANNOTATIONS), SYSTEM_ANNOTATIONS
    )
    header = _raw(view, by_code.get(HEADER))
    middle = _raw(view, by_code.get(PROPERTIES)) + _raw(view, by_code.get(APPLICATION_PROPERTIES))
    footer = _raw(view, by_code.get(FOOTER))
    prefix = _LAYOUT.pack(
        flags,
        len(header),
        delivery_count,
        len(delivery),
        message_count,
        len(annotations),
        len(middle),
        len(stored_body),
    )
    return OutgoingEvent(
        body=body,
        partition_key=partition_key or envelope_key,
        properties={
            text(name): _property(value) for name, value in (decoded.application_properties or {}).items()
        },
        amqp_message=b"".join((prefix, header, delivery, annotations, middle, stored_body, footer)),
    )


# The common event's sections: the header the SDK's EventData has (durable), message annotations holding
# only the partition key (a str8), application properties (map8), one data section. `_common_event`
# reads those; every other shape is decoded.
_SDK_HEADER = b"\x00\x53\x70\xc0\x07\x05\x56\x01\x40\x40\x40\x40"
_KEY_ANNOTATION_PREFIX = b"\x00\x53\x72\xc1"
_KEY_ENTRY = b"\x02\xa3\x13" + PARTITION_KEY_ANNOTATION + b"\xa1"
_PROPERTIES_PREFIX = b"\x00\x53\x74\xc1"
_DATA_PREFIX = b"\x00\x53\x75"
_STRUCTS = {
    0x81: struct.Struct(">q"),  # long
    0x71: struct.Struct(">i"),  # int
    0x54: struct.Struct(">b"),  # smallint
    0x55: struct.Struct(">b"),  # smalllong
    0x82: struct.Struct(">d"),  # double
}
_NO_PARTS = _LAYOUT.pack(_ONE_DATA_SECTION, 0, 0, 0, 0, 0, 0, 0)


def _common_event(data: bytes, envelope_key: str | None) -> OutgoingEvent | None:
    """The event an `EventData` with a partition key and scalar properties makes (paysim's publisher's,
    most SDK senders'), read straight from its bytes: the same event `_decoded_event` returns, at a
    fraction of the cost. None for anything else, including what the general path would refuse."""
    header = _SDK_HEADER if data.startswith(_SDK_HEADER) else b""
    position, partition_key = len(header), None
    if data.startswith(_KEY_ANNOTATION_PREFIX, position):
        start = position + 29
        if len(data) < start or data[position + 5 : start - 1] != _KEY_ENTRY:
            return None
        key_end = start + data[start - 1]
        if position + 5 + data[position + 4] != key_end:
            return None
        try:
            partition_key = data[start:key_end].decode()
        except UnicodeDecodeError:
            return None
        position = key_end
    properties: dict[str, str | int | float | bool] = {}
    middle = b""
    if data.startswith(_PROPERTIES_PREFIX, position):
        end = _common_properties(data, position, properties)
        if end < 0:
            return None
        middle, position = data[position:end], end
    if not data.startswith(_DATA_PREFIX, position) or len(data) < position + 5:
        return None
    if data[position + 3] == 0xA0:
        start = position + 5
        length = data[position + 4]
    elif data[position + 3] == 0xB0 and len(data) >= position + 8:
        start = position + 8
        length = int.from_bytes(data[position + 4 : start], "big")
    else:
        return None
    if start + length != len(data):
        return None
    if header or middle:
        prefix = _LAYOUT.pack(_ONE_DATA_SECTION, len(header), 0, 0, 0, 0, len(middle), 0)
    else:
        prefix = _NO_PARTS
    return OutgoingEvent(
        body=data[start:],
        partition_key=partition_key or envelope_key,
        properties=properties,
        amqp_message=prefix + header + middle,
    )


def _common_properties(data: bytes, position: int, properties: dict[str, str | int | float | bool]) -> int:
    """Read an application-properties map8 of str8 keys and scalar values at `position` into
    `properties`, as the SDK's decoder and `_property` would; where it ends, or -1 if it is not one."""
    if len(data) < position + 6 or data[position + 5] % 2:
        return -1
    end = position + 5 + data[position + 4]
    if end > len(data):
        return -1
    cursor = position + 6
    for _ in range(data[position + 5] // 2):
        if cursor + 2 > end or data[cursor] != 0xA1:
            return -1
        name_end = cursor + 2 + data[cursor + 1]
        if name_end >= end:
            return -1
        try:
            name = data[cursor + 2 : name_end].decode()
        except UnicodeDecodeError:
            return -1
        constructor, cursor = data[name_end], name_end + 1
        value: str | int | float | bool
        if constructor == 0xA1:
            if cursor >= end:
                return -1
            value_end = cursor + 1 + data[cursor]
            value = _property(data[cursor + 1 : value_end])
        elif constructor in _STRUCTS:
            value_end = cursor + _STRUCTS[constructor].size
            (value,) = _STRUCTS[constructor].unpack_from(data, cursor) if value_end <= end else (0,)
        elif constructor in (0x41, 0x42):
            value_end, value = cursor, constructor == 0x41
        elif constructor == 0x56:
            value_end, value = cursor + 1, data[cursor : cursor + 1] == b"\x01"
        else:
            return -1
        if value_end > end:
            return -1
        properties[name] = value
        cursor = value_end
    return end if cursor == end else -1


def _raw(view: memoryview, sections: list[Section] | None) -> bytes:
    return b"" if not sections else bytes(view[sections[0].start : sections[0].end])


def _binary(view: memoryview, section: Section) -> memoryview:
    """A data section's bytes (its value is vbin8 or vbin32, as the section checks made sure)."""
    start = section.value_start + (2 if view[section.value_start] == 0xA0 else 5)
    return view[start : section.end]


def _map_entries(
    view: memoryview, sections: list[Section] | None, dropped: frozenset[bytes]
) -> tuple[int, bytes, str | None]:
    """An annotations section's entries as encoded (key, value, key, value ...), less those whose symbol
    key is in `dropped`; their count (of keys and values), and the partition key when there is one."""
    if not sections:
        return 0, b"", None
    section = sections[0]
    width = 1 if view[section.value_start] == 0xC1 else 4
    position, end = section.value_start + 1 + 2 * width, section.end
    kept = bytearray()
    count = 0
    partition_key = None
    while position < end:
        if view[position] not in _ANNOTATION_KEYS:
            raise AmqpError(b"amqp:decode-error", "annotation keys are symbols or ulongs")
        key_end = element_end(view, position, end)
        value_end = element_end(view, key_end, end)
        name = _symbol(view[position:key_end])
        if name == PARTITION_KEY_ANNOTATION:
            partition_key = _key_text(decode_value(view[key_end:value_end]))
        if name not in dropped:
            kept += view[position:value_end]
            count += 2
        position = value_end
    return count, bytes(kept), partition_key


# Symbols and ulongs (the AMQP types of annotation keys), in each encoding the SDK may write.
_ANNOTATION_KEYS = frozenset((0xA3, 0xB3, 0x80, 0x53, 0x44))


def _symbol(encoded: memoryview) -> bytes | None:
    if encoded[0] == 0xA3:
        return bytes(encoded[2:])
    if encoded[0] == 0xB3:
        return bytes(encoded[5:])
    return None  # annotation keys may also be ulongs, which the service never owns


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


# -- delivering --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuntimeMetrics:
    """What a receiver that asked for runtime metrics gets on each delivery: the partition's last
    enqueued event as of `retrieved_at` (the values Event Hubs reports in the delivery annotations)."""

    entries: bytes
    count: int = 8

    @classmethod
    def of(cls, info: PartitionInfo, retrieved_at: datetime) -> RuntimeMetrics:
        last_time = info.last_enqueued_time
        return cls(
            _SYMBOLS[b"last_enqueued_sequence_number"]
            + long(info.last_enqueued_sequence_number)
            + _SYMBOLS[b"last_enqueued_offset"]
            + string(str(info.last_enqueued_offset))
            + _SYMBOLS[b"last_enqueued_time_utc"]
            + timestamp(NO_TIME_MS if last_time is None else timestamp_ms(last_time))
            + _SYMBOLS[b"runtime_info_retrieval_time_utc"]
            + timestamp(timestamp_ms(retrieved_at))
        )


def delivery_payloads(events: Sequence[ReceivedEvent], metrics: RuntimeMetrics | None) -> Iterator[bytes]:
    """Each event's message as Event Hubs delivers it (see the module docstring)."""
    enqueued: datetime | None = None
    enqueued_ms = b""
    for event in events:
        if event.enqueued_time is not enqueued:  # the events of one append share one enqueued time
            enqueued = event.enqueued_time
            enqueued_ms = timestamp(timestamp_ms(enqueued))
        stored = event.amqp_message or _stored_form(event)
        system = (
            _SYMBOLS[SEQUENCE_NUMBER_ANNOTATION]
            + long(event.sequence_number)
            + _SYMBOLS[OFFSET_ANNOTATION]
            + string(str(event.offset))
            + _SYMBOLS[ENQUEUED_TIME_ANNOTATION]
            + enqueued_ms
        )
        count = 6
        if event.partition_key is not None:
            system += _SYMBOLS[PARTITION_KEY_ANNOTATION] + string(event.partition_key)
            count += 2
        if metrics is None and _plain(stored):
            # Properties at most, and the body (what most senders send): no parts to split out.
            annotations = map_section(MESSAGE_ANNOTATIONS, count, system)
            yield annotations + stored[_LAYOUT.size :] + data_section(event.body)
            continue
        parts = _Parts.of(stored)
        pieces: list[bytes | memoryview] = [parts.header]
        if metrics is not None or parts.delivery_count:
            pieces.append(
                map_section(
                    DELIVERY_ANNOTATIONS,
                    (metrics.count if metrics else 0) + parts.delivery_count,
                    (metrics.entries if metrics else b"") + parts.delivery,
                )
            )
        pieces.append(map_section(MESSAGE_ANNOTATIONS, count + parts.message_count, system + parts.message))
        pieces.append(parts.middle)
        pieces.append(data_section(event.body) if parts.flags & _ONE_DATA_SECTION else parts.body)
        pieces.append(parts.footer)
        yield b"".join(pieces)


# The layout's prefix, up to the properties' length, of a message with no header, annotations or
# footer, its body the log's.
_PLAIN_PREFIX = _LAYOUT.pack(_ONE_DATA_SECTION, 0, 0, 0, 0, 0, 0, 0)[: _LAYOUT.size - 8]


def _plain(stored: bytes) -> bool:
    """Whether the stored message holds its properties at most (they are what follows the prefix)."""
    return (
        stored.startswith(_PLAIN_PREFIX)
        and stored[_LAYOUT.size - 4 : _LAYOUT.size] == b"\x00\x00\x00\x00"  # no body sections
        and int.from_bytes(stored[_LAYOUT.size - 8 : _LAYOUT.size - 4], "big") == len(stored) - _LAYOUT.size
    )


def _stored_form(event: ReceivedEvent) -> bytes:
    """The stored form of an event paysim's own writer appended: its properties, its body as one data
    section."""
    middle = (
        encode_message(
            Message(application_properties={name: typed(v) for name, v in event.properties.items()})
        )
        if event.properties
        else b""
    )
    return _LAYOUT.pack(_ONE_DATA_SECTION, 0, 0, 0, 0, 0, len(middle), 0) + middle


_SYMBOLS = {name: symbol(name) for name in SYSTEM_ANNOTATIONS | RUNTIME_METRICS}

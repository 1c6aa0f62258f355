"""AMQP values and message sections encoded directly, byte for byte as the SDK's encoder writes them.

The two hot paths encode events: the endpoint delivering them (`messages.py`) and paysim's Event Hubs
publisher adding them to a batch (`hub/eventhubs.py`). The SDK's generic encoder costs ~40 µs a
message and its `EventDataBatch.add` encodes each event twice; these few encoders cover what those
paths write, and tests compare their bytes with the SDK's.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

MESSAGE_ANNOTATIONS, APPLICATION_PROPERTIES, DATA = 0x72, 0x74, 0x75
_SECTION_PREFIX = {
    code: bytes((0x00, 0x53, code)) for code in (0x71, MESSAGE_ANNOTATIONS, APPLICATION_PROPERTIES, DATA)
}
_INT32 = range(-(2**31), 2**31)
_DOUBLE = struct.Struct(">d")


def symbol(name: bytes) -> bytes:
    return (
        bytes((0xA3, len(name))) + name if len(name) < 256 else b"\xb3" + len(name).to_bytes(4, "big") + name
    )


def string(value: str) -> bytes:
    encoded = value.encode()
    if len(encoded) < 256:
        return bytes((0xA1, len(encoded))) + encoded
    return b"\xb1" + len(encoded).to_bytes(4, "big") + encoded


def long(value: int) -> bytes:
    return b"\x81" + value.to_bytes(8, "big", signed=True)


def timestamp(milliseconds: int) -> bytes:
    return b"\x83" + milliseconds.to_bytes(8, "big", signed=True)


def property_value(value: str | int | float | bool) -> bytes:
    """An application property value as the SDK writes the Python value: the smallest int encoding,
    a long for integers beyond 32 bits (what paysim's publisher asks for), doubles, UTF-8 strings."""
    if isinstance(value, bool):
        return b"\x56\x01" if value else b"\x56\x00"
    if isinstance(value, int):
        if -128 <= value <= 127:
            return b"\x54" + value.to_bytes(1, "big", signed=True)
        return b"\x71" + value.to_bytes(4, "big", signed=True) if value in _INT32 else long(value)
    if isinstance(value, float):
        return b"\x82" + _DOUBLE.pack(value)
    return string(value)


def map_section(code: int, count: int, entries: bytes | memoryview) -> bytes:
    """A map-valued section (annotations, application properties) holding `entries`, already encoded
    (`count` keys and values), map8 when it fits."""
    if len(entries) < 255 and count < 256:  # map8's size byte counts its count byte too
        return _SECTION_PREFIX[code] + bytes((0xC1, len(entries) + 1, count)) + entries
    return (
        _SECTION_PREFIX[code]
        + b"\xd1"
        + (len(entries) + 4).to_bytes(4, "big")
        + count.to_bytes(4, "big")
        + entries
    )


def data_section(body: bytes) -> bytes:
    if len(body) < 256:
        return _SECTION_PREFIX[DATA] + bytes((0xA0, len(body))) + body
    return _SECTION_PREFIX[DATA] + b"\xb0" + len(body).to_bytes(4, "big") + body


_PARTITION_KEY = symbol(b"x-opt-partition-key")


def outgoing_message(
    body: bytes, partition_key: str | None, properties: Mapping[str, str | int | float | bool]
) -> bytes:
    """An event as the SDK encodes an `EventData` of paysim's publisher: the partition key in the
    message annotations, the application properties, the body in one data section."""
    sections = b""
    if partition_key is not None:
        sections = map_section(MESSAGE_ANNOTATIONS, 2, _PARTITION_KEY + string(partition_key))
    if properties:
        entries = b"".join(string(name) + property_value(value) for name, value in properties.items())
        sections += map_section(APPLICATION_PROPERTIES, 2 * len(properties), entries)
    return sections + data_section(body)

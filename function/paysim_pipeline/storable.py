"""Text made storable: PostgreSQL text and jsonb hold no NUL (U+0000), UTF-8 has no lone surrogates.

Event bodies are stored as their exact bytes (failed_items.raw_payload, the raw archive); what is made
storable here is text derived from them or from the hub's metadata: error messages, run ids, properties.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Long enough for every error a schema reports on one event; a 1 MB body's value does not belong in it.
MAX_MESSAGE_CHARS = 2000
# orjson encodes integers of at most 64 bits (signed or unsigned).
_INT_RANGE = range(-(2**63), 2**64)
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def storable_text(text: str, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """`text` with NUL shown as the escape `\\u0000`, lone surrogates as U+FFFD, cut at `max_chars`."""
    text = _SURROGATE.sub("\ufffd", text.replace("\x00", "\\u0000"))
    if len(text) > max_chars:
        text = f"{text[:max_chars]}... ({len(text) - max_chars:,} more characters)"
    return text


def is_storable(text: str) -> bool:
    """True when PostgreSQL can store `text` as it is."""
    return "\x00" not in text and _SURROGATE.search(text) is None


def encodable_json(value: object) -> object:
    """`value` as orjson can encode it, for metadata that came from outside (application properties):
    lone surrogates become U+FFFD, integers beyond 64 bits and other types their text, keys text."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        return value if value in _INT_RANGE else str(value)
    if isinstance(value, Mapping):
        return {_SURROGATE.sub("\ufffd", str(key)): encodable_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encodable_json(item) for item in value]
    return _SURROGATE.sub("\ufffd", str(value))

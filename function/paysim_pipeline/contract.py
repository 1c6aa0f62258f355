"""The event contract the pipeline enforces: the shared JSON Schema and the ISO 4217 currency table."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
EVENT_SCHEMA_FILE = SCHEMA_DIR / "payment_event.v1.json"
CURRENCY_FILE = SCHEMA_DIR / "currencies.json"


@cache
def event_schema() -> dict[str, Any]:
    """The payment event JSON Schema (draft 2020-12), shared with the simulator."""
    schema: dict[str, Any] = orjson.loads(EVENT_SCHEMA_FILE.read_bytes())
    return schema


@cache
def currency_exponents() -> dict[str, int]:
    """ISO 4217 code -> minor-unit exponent, for the currencies the pipeline accepts."""
    table: dict[str, int] = orjson.loads(CURRENCY_FILE.read_bytes())["minor_unit_exponent"]
    return table


def enum_values(field: str) -> tuple[str, ...]:
    """The values the schema allows for an enumerated top-level field (nullable enums included)."""
    spec = event_schema()["properties"][field]
    if "enum" in spec:
        return tuple(spec["enum"])
    return next(tuple(option["enum"]) for option in spec["oneOf"] if "enum" in option)

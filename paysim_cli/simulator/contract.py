"""The event contract the simulator writes and the pipeline reads: the JSON Schema and the currency table."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

SCHEMA_VERSION = 1
# The pipeline's package owns the contract; paysim_cli reads the same files from the source tree.
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "function" / "paysim_pipeline" / "schema"
EVENT_SCHEMA_FILE = SCHEMA_DIR / f"payment_event.v{SCHEMA_VERSION}.json"
CURRENCY_FILE = SCHEMA_DIR / "currencies.json"


@cache
def event_schema() -> dict[str, Any]:
    """The payment event JSON Schema (draft 2020-12)."""
    schema: dict[str, Any] = orjson.loads(EVENT_SCHEMA_FILE.read_bytes())
    return schema


@cache
def currency_exponents() -> dict[str, int]:
    """ISO 4217 code -> minor-unit exponent, for the currencies paysim knows."""
    table: dict[str, int] = orjson.loads(CURRENCY_FILE.read_bytes())["minor_unit_exponent"]
    return table


def _enum_of(schema: dict[str, Any]) -> tuple[str, ...]:
    if "enum" in schema:
        return tuple(schema["enum"])
    # A nullable enum is written `oneOf: [{"type": "null"}, {"enum": [...]}]`.
    return next(tuple(option["enum"]) for option in schema["oneOf"] if "enum" in option)


def allowed_values(field: str) -> tuple[str, ...]:
    """The values the schema allows for an enumerated top-level field, e.g. `payment_type`."""
    return _enum_of(event_schema()["properties"][field])


def currency_codes() -> tuple[str, ...]:
    """The known currencies in code order: a currency's position is its code in numeric columns."""
    return tuple(sorted(currency_exponents()))

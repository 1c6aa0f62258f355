"""The event contract the simulator writes: the pipeline's own (`paysim_pipeline.contract`), so both sides
read the one schema file, plus the orderings generation needs."""

from __future__ import annotations

from paysim_pipeline.contract import currency_exponents, event_schema
from paysim_pipeline.contract import enum_values as allowed_values

__all__ = ["SCHEMA_VERSION", "allowed_values", "currency_codes", "currency_exponents", "event_schema"]

SCHEMA_VERSION: int = event_schema()["properties"]["schema_version"]["const"]


def currency_codes() -> tuple[str, ...]:
    """The known currencies in code order: a currency's position is its code in numeric columns."""
    return tuple(sorted(currency_exponents()))

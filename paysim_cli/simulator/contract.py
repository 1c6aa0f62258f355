"""The event contract the simulator writes: the pipeline's own (`paysim_pipeline.contract`), so both sides
read the one schema file, plus the orderings generation needs.

Nothing is read at import: `paysim --help` imports this module (through the generator's option types)
and must not open the schema file.
"""

from __future__ import annotations

from paysim_pipeline.contract import currency_exponents, event_schema
from paysim_pipeline.contract import enum_values as allowed_values

__all__ = [
    "allowed_values",
    "currency_codes",
    "currency_exponents",
    "event_schema",
    "schema_version",
]


def schema_version() -> int:
    """The schema version every event carries (the schema's `schema_version` constant)."""
    version: int = event_schema()["properties"]["schema_version"]["const"]
    return version


def __getattr__(name: str) -> int:
    # SCHEMA_VERSION, read from the schema on first use rather than when the module loads.
    if name == "SCHEMA_VERSION":
        return schema_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def currency_codes() -> tuple[str, ...]:
    """The known currencies in code order: a currency's position is its code in numeric columns."""
    return tuple(sorted(currency_exponents()))

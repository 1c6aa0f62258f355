"""Decoded events against the shared JSON Schema (jsonschema-rs, compiled once) and the business rules."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import numpy as np

from paysim_pipeline.contract import currency_exponents, event_schema
from paysim_pipeline.rejection import ErrorCode, Rejection, Stage

if TYPE_CHECKING:
    import numpy.typing as npt

    from paysim_pipeline.normalize import EventColumns

# Schema errors that have a code of their own: (instance path, failing keyword) -> code.
_SPECIFIC_ERRORS = {
    ("payment_type", "enum"): ErrorCode.UNKNOWN_PAYMENT_TYPE,
    ("amount_minor", "minimum"): ErrorCode.NON_POSITIVE_AMOUNT,
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAX_ERRORS_SHOWN = 3


class EventValidator:
    """Checks one event at a time: the fast path is one `is_valid` call and a set lookup."""

    def __init__(self) -> None:
        self._schema = jsonschema_rs.validator_for(event_schema(), validate_formats=True)
        self._currencies = frozenset(currency_exponents())

    def validate(
        self, documents: list[dict[str, Any]], positions: list[int]
    ) -> tuple[list[dict[str, Any]], list[int], list[Rejection]]:
        """The valid documents with their positions, and a rejection for each invalid one."""
        is_valid = self._schema.is_valid
        currencies = self._currencies
        if all(map(is_valid, documents)) and all(
            document["currency"] in currencies for document in documents
        ):
            return documents, positions, []
        valid: list[dict[str, Any]] = []
        valid_positions: list[int] = []
        rejections: list[Rejection] = []
        for document, position in zip(documents, positions, strict=True):
            if is_valid(document) and document["currency"] in currencies:
                valid.append(document)
                valid_positions.append(position)
            else:
                rejections.append(self._rejection(document, position))
        return valid, valid_positions, rejections

    def _rejection(self, document: dict[str, Any], position: int) -> Rejection:
        transaction_id = readable_transaction_id(document)
        errors = list(self._schema.iter_errors(document))
        if not errors:
            message = f"currency {document['currency']!r} is not in currencies.json"
            return Rejection(position, Stage.VALIDATE, ErrorCode.UNKNOWN_CURRENCY, message, transaction_id)
        described = [f"{_path(error.instance_path)}: {error.message}" for error in errors]
        if len(described) > _MAX_ERRORS_SHOWN:
            described[_MAX_ERRORS_SHOWN:] = [f"and {len(described) - _MAX_ERRORS_SHOWN} more"]
        code = next(
            (
                _SPECIFIC_ERRORS[key]
                for error in errors
                if (key := (_path(error.instance_path), str(error.schema_path[-1]))) in _SPECIFIC_ERRORS
            ),
            ErrorCode.SCHEMA_VIOLATION,
        )
        return Rejection(position, Stage.VALIDATE, code, "; ".join(described), transaction_id)


def event_time_rejections(
    columns: EventColumns, *, now_ms: int, max_skew_seconds: int, max_age_seconds: int
) -> tuple[npt.NDArray[np.bool_], list[Rejection]]:
    """Which events' times are within [now - max age, now + max skew], and a rejection for the others."""
    event_ms = columns.event_ms
    accepted = (event_ms <= now_ms + max_skew_seconds * 1000) & (event_ms >= now_ms - max_age_seconds * 1000)
    rejected = (~accepted).nonzero()[0]
    times = np.datetime_as_string(event_ms[rejected].astype("datetime64[ms]"), timezone="UTC").tolist()
    rejections = [
        Rejection(
            int(columns.positions[row]),
            Stage.VALIDATE,
            ErrorCode.EVENT_TIME_OUT_OF_RANGE,
            f"event_time {time} is {_offset(int(event_ms[row]) - now_ms)} the processor's clock; "
            f"accepted: up to {max_skew_seconds} s ahead and {max_age_seconds} s behind",
            columns.transaction_ids[row],
        )
        for row, time in zip(rejected.tolist(), times, strict=True)
    ]
    return accepted, rejections


def readable_transaction_id(document: object) -> str | None:
    """The event's transaction_id when it is a well-formed UUID, for failed_items.transaction_id."""
    if isinstance(document, dict):
        value = document.get("transaction_id")
        if isinstance(value, str) and _UUID.fullmatch(value):
            return value
    return None


def _offset(delta_ms: int) -> str:
    direction = "ahead of" if delta_ms > 0 else "behind"
    return f"{abs(delta_ms) / 1000:.0f} s {direction}"


def _path(instance_path: list[str | int]) -> str:
    return ".".join(str(part) for part in instance_path) or "(event)"

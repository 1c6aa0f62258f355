"""Decoded events against the shared JSON Schema (jsonschema-rs, compiled once) and the business rules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import numpy as np

from paysim_pipeline.contract import currency_exponents, event_schema
from paysim_pipeline.rejection import ErrorCode, Rejection, Stage, readable_transaction_id

if TYPE_CHECKING:
    import numpy.typing as npt

    from paysim_pipeline.normalize import EventColumns

# Schema errors that have a code of their own: (instance path, failing keyword) -> code.
_SPECIFIC_ERRORS = {
    ("payment_type", "enum"): ErrorCode.UNKNOWN_PAYMENT_TYPE,
    ("amount_minor", "minimum"): ErrorCode.NON_POSITIVE_AMOUNT,
}
# Keywords that judge a value itself: they say what is wrong with a field that is there.
_VALUE_KEYWORDS = frozenset(
    {"type", "enum", "const", "pattern", "format", "minimum", "maximum", "minLength", "maxLength"}
)
# How specific an error is, most specific first: a coded error, a NUL, a bad value, an unexpected field,
# a missing one; combinators (oneOf, if/then) last, as they name a subschema rather than the defect.
_CODED, _NUL, _VALUE, _UNEXPECTED, _MISSING, _COMBINATOR = range(6)
_RANK = {"additionalProperties": _UNEXPECTED, "required": _MISSING}
_MAX_ERRORS_SHOWN = 3


class EventValidator:
    """Checks one event at a time: the fast path is one `is_valid` call and a set lookup."""

    def __init__(self) -> None:
        self._schema = jsonschema_rs.validator_for(event_schema(), validate_formats=True)
        self._currencies = frozenset(currency_exponents())

    def validate(
        self, documents: list[dict[str, Any]], positions: list[int], bodies: Sequence[bytes]
    ) -> tuple[list[dict[str, Any]], list[int], list[Rejection]]:
        """The valid documents with their positions, and a rejection for each invalid one.

        `bodies` are the batch's bodies by position: a body that may hold a NUL is searched for one,
        since PostgreSQL text (and jsonb) cannot store it.
        """
        is_valid = self._schema.is_valid
        currencies = self._currencies
        if (
            all(map(is_valid, documents))
            and all(document["currency"] in currencies for document in documents)
            # Joined: one search per batch (no JSON text starts with a backslash, so none is missed).
            and not holds_nul_escape(b"\n".join(bodies))
        ):
            return documents, positions, []
        valid: list[dict[str, Any]] = []
        valid_positions: list[int] = []
        rejections: list[Rejection] = []
        for document, position in zip(documents, positions, strict=True):
            nul_paths = list(_nul_paths(document)) if holds_nul_escape(bodies[position]) else []
            if not nul_paths and is_valid(document) and document["currency"] in currencies:
                valid.append(document)
                valid_positions.append(position)
            else:
                rejections.append(self._rejection(document, position, nul_paths))
        return valid, valid_positions, rejections

    def _rejection(self, document: dict[str, Any], position: int, nul_paths: list[str]) -> Rejection:
        transaction_id = readable_transaction_id(document)
        findings = [
            (_NUL, ErrorCode.UNSTORABLE_TEXT, f"{path}: contains U+0000 (NUL), which PostgreSQL cannot store")
            for path in nul_paths
        ]
        findings += [_finding(error) for error in self._schema.iter_errors(document)]
        if not findings:
            message = f"currency {document['currency']!r} is not in currencies.json"
            return Rejection(position, Stage.VALIDATE, ErrorCode.UNKNOWN_CURRENCY, message, transaction_id)
        findings.sort(key=lambda finding: finding[0])  # stable: the schema's order within a rank
        described = [text for _, _, text in findings]
        if len(described) > _MAX_ERRORS_SHOWN:
            described[_MAX_ERRORS_SHOWN:] = [f"and {len(described) - _MAX_ERRORS_SHOWN} more"]
        return Rejection(position, Stage.VALIDATE, findings[0][1], "; ".join(described), transaction_id)


def holds_nul_escape(data: bytes) -> bool:
    """Whether JSON text `data` holds a NUL: always written as the escape \\u0000 (raw control characters
    are not JSON). A search for the backslash runs at memchr speed; a backslash is rare in events."""
    position = data.find(b"\\")
    while position >= 0:
        if data.startswith(b"u0000", position + 1):
            return True
        # Past the escaped character: in \\u0000 (JSON for a backslash, then "u0000") there is no NUL.
        position = data.find(b"\\", position + 2)
    return False


def _finding(error: jsonschema_rs.ValidationError) -> tuple[int, ErrorCode, str]:
    """(rank, code, description) of one schema error."""
    path = _path(error.instance_path)
    keyword = str(error.schema_path[-1]) if error.schema_path else ""
    code = _SPECIFIC_ERRORS.get((path, keyword))
    if code is not None:
        rank = _CODED
    else:
        code = ErrorCode.SCHEMA_VIOLATION
        rank = _VALUE if keyword in _VALUE_KEYWORDS else _RANK.get(keyword, _COMBINATOR)
    return rank, code, f"{path}: {error.message}"


def _nul_paths(value: object, path: str = "") -> Iterator[str]:
    """Where `value` holds a NUL: the path of each string, or of each object key, that contains one."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "(event)"
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                yield f"{path + ': ' if path else ''}the field name '{key}'"
            yield from _nul_paths(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{index}" if path else str(index))


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


def _offset(delta_ms: int) -> str:
    direction = "ahead of" if delta_ms > 0 else "behind"
    return f"{abs(delta_ms) / 1000:.0f} s {direction}"


def _path(instance_path: list[str | int]) -> str:
    return ".".join(str(part) for part in instance_path) or "(event)"

"""Why an event was not processed: the stage that refused it, a stable error code and a message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    DECODE = "decode"
    VALIDATE = "validate"
    NORMALIZE = "normalize"
    # An event whose batch failed in the database, isolated by splitting the batch (ADR 0009) ...
    SINK = "sink"
    # ... or in the processor's own code.
    PROCESS = "process"


class ErrorCode(StrEnum):
    """Stable codes stored in failed_items.error_code; `paysim dlq` filters by them."""

    EVENT_TOO_LARGE = "event_too_large"
    INVALID_UTF8 = "invalid_utf8"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    SCHEMA_VIOLATION = "schema_violation"
    UNKNOWN_PAYMENT_TYPE = "unknown_payment_type"
    UNKNOWN_CURRENCY = "unknown_currency"
    NON_POSITIVE_AMOUNT = "non_positive_amount"
    UNSTORABLE_TEXT = "unstorable_text"
    EVENT_TIME_OUT_OF_RANGE = "event_time_out_of_range"
    INVALID_EVENT_TIME = "invalid_event_time"
    UNSTORABLE_VALUE = "unstorable_value"
    CONSTRAINT_VIOLATION = "constraint_violation"
    PROCESSING_FAILED = "processing_failed"


# Bodies the raw archive stores in base64: they are not JSON text.
UNDECODABLE = frozenset({ErrorCode.EVENT_TOO_LARGE, ErrorCode.INVALID_UTF8, ErrorCode.NOT_JSON})

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Rejection:
    """One event refused, by its position in the batch."""

    position: int
    stage: Stage
    error_code: ErrorCode
    message: str
    transaction_id: str | None = None


def readable_transaction_id(document: object) -> str | None:
    """The event's transaction_id when it is a well-formed UUID, for failed_items.transaction_id."""
    if isinstance(document, dict):
        value = document.get("transaction_id")
        if isinstance(value, str) and _UUID.fullmatch(value):
            return value
    return None

"""Why an event was not processed: the stage that refused it, a stable error code and a message."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    DECODE = "decode"
    VALIDATE = "validate"


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
    EVENT_TIME_OUT_OF_RANGE = "event_time_out_of_range"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One event refused, by its position in the batch."""

    position: int
    stage: Stage
    error_code: ErrorCode
    message: str
    transaction_id: str | None = None

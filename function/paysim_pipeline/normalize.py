"""Valid events to columns: numpy arrays for times, amounts and flags; factor codes for categories.

One pass of list comprehensions over the decoded events, then everything downstream (time checks,
dedupe keys, aggregation, rules) works on whole columns instead of per-event Python objects.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from paysim_pipeline.contract import currency_exponents
from paysim_pipeline.rejection import ErrorCode, Rejection, Stage, readable_transaction_id

if TYPE_CHECKING:
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]
    FloatArray = npt.NDArray[np.float64]

Document = dict[str, Any]

# The dimensions of payment_metrics_5m, in its key order.
DIMENSIONS = ("payment_type", "currency", "merchant_category", "channel", "status")


def _card(document: Document) -> str | None:
    card = document["card"]
    return None if card is None else f"{card['bin']}{card['last4']}"


def _device_country(document: Document) -> str | None:
    device = document["device"]
    return None if device is None else str(device["country"])


# Categorical fields rules may filter and group by, beyond DIMENSIONS and run_id.
EXTRA_CATEGORIES: dict[str, Callable[[Document], Hashable]] = {
    "decline_reason": lambda document: document["decline_reason"],
    "fraud_scenario": lambda document: document["fraud_scenario"],
    "merchant_id": lambda document: document["merchant"]["id"],
    "merchant_country": lambda document: document["merchant"]["country"],
    "customer_id": lambda document: document["customer"]["id"],
    "customer_country": lambda document: document["customer"]["country"],
    "device_country": _device_country,
    "card_brand": lambda document: None if document["card"] is None else document["card"]["brand"],
    "card": _card,
}
CATEGORIES = (*DIMENSIONS, "run_id", *EXTRA_CATEGORIES)
NUMBERS = ("amount_minor", "amount_major")
BOOLEANS = ("is_fraud",)


@dataclass(frozen=True, slots=True)
class Factor:
    """A categorical column: one code per row, `values[code]` the category (None for JSON null)."""

    codes: IntArray
    values: tuple[Hashable, ...]

    @classmethod
    def of(cls, column: Sequence[Hashable]) -> Factor:
        table: dict[Hashable, int] = {}
        codes = [table.setdefault(value, len(table)) for value in column]
        return cls(np.array(codes, dtype=np.int64), tuple(table))

    def take(self, rows: IntArray) -> Factor:
        return Factor(self.codes[rows], self.values)

    def labels(self) -> list[Hashable]:
        """The category of every row."""
        return [self.values[code] for code in self.codes.tolist()]

    def codes_of(self, wanted: Collection[Hashable]) -> IntArray:
        """The codes of the categories in `wanted` (those this batch has)."""
        return np.array([code for code, value in enumerate(self.values) if value in wanted], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class EventColumns:
    """Valid events of one batch as columns; `positions` are their places in the batch."""

    positions: IntArray
    transaction_ids: list[str]
    event_ms: IntArray
    amount_minor: IntArray
    is_fraud: BoolArray
    factors: dict[str, Factor]

    def __len__(self) -> int:
        return len(self.transaction_ids)

    @property
    def event_days(self) -> IntArray:
        """Days since 1970-01-01 of each event's UTC time: the dedupe table's event_day."""
        days: IntArray = self.event_ms // 86_400_000
        return days

    def amount_major(self) -> FloatArray:
        """Amounts in major units (minor units / 10^exponent of the currency)."""
        currency = self.factors["currency"]
        scale = np.array([10.0 ** currency_exponents()[str(code)] for code in currency.values])
        major: FloatArray = self.amount_minor / scale[currency.codes]
        return major

    def number(self, name: str) -> FloatArray:
        return self.amount_major() if name == "amount_major" else self.amount_minor.astype(np.float64)

    def take(self, rows: IntArray) -> EventColumns:
        return EventColumns(
            positions=self.positions[rows],
            transaction_ids=[self.transaction_ids[row] for row in rows.tolist()],
            event_ms=self.event_ms[rows],
            amount_minor=self.amount_minor[rows],
            is_fraud=self.is_fraud[rows],
            factors={name: factor.take(rows) for name, factor in self.factors.items()},
        )


def to_columns(
    documents: list[Document], positions: list[int], extra: Collection[str] = ()
) -> tuple[EventColumns, list[Rejection]]:
    """Columns of schema-valid events; `extra` names the EXTRA_CATEGORIES the rules need.

    An event whose values cannot be converted (a leap second passes the schema's date-time format)
    is left out, with a rejection.
    """
    # The schema's pattern fixes the format (…T12:34:56.789Z); numpy parses it without the zone suffix.
    times = [document["event_time"][:-1] for document in documents]
    try:
        event_times = np.array(times, dtype="datetime64[ms]")
        rejections: list[Rejection] = []
    except ValueError:
        documents, positions, times, rejections = _convertible_times(documents, positions, times)
        event_times = np.array(times, dtype="datetime64[ms]")
    factors = {
        "payment_type": Factor.of([document["payment_type"] for document in documents]),
        "currency": Factor.of([document["currency"] for document in documents]),
        "merchant_category": Factor.of([document["merchant"]["mcc"] for document in documents]),
        "channel": Factor.of([document["channel"] for document in documents]),
        "status": Factor.of([document["status"] for document in documents]),
        "run_id": Factor.of([document["run_id"] for document in documents]),
    }
    for name in extra:
        extract = EXTRA_CATEGORIES[name]
        factors[name] = Factor.of([extract(document) for document in documents])
    columns = EventColumns(
        positions=np.array(positions, dtype=np.int64),
        transaction_ids=[document["transaction_id"] for document in documents],
        event_ms=event_times.astype(np.int64),
        # JSON Schema counts 12.0 as an integer: int64 conversion makes it 12.
        amount_minor=np.array([document["amount_minor"] for document in documents], dtype=np.int64),
        is_fraud=np.array([document["is_fraud"] for document in documents], dtype=np.bool_),
        factors=factors,
    )
    return columns, rejections


def _convertible_times(
    documents: list[Document], positions: list[int], times: list[str]
) -> tuple[list[Document], list[int], list[str], list[Rejection]]:
    """The events whose event_time numpy can convert, and a rejection for each other one."""
    kept_documents: list[Document] = []
    kept_positions: list[int] = []
    kept_times: list[str] = []
    rejections = []
    for document, position, text in zip(documents, positions, times, strict=True):
        try:
            np.datetime64(text, "ms")
        except ValueError as error:
            leap = " (a leap second: UTC windows have no 60th second)" if text[17:19] == "60" else ""
            rejections.append(
                Rejection(
                    position,
                    Stage.NORMALIZE,
                    ErrorCode.INVALID_EVENT_TIME,
                    f"event_time {text}Z cannot be converted{leap}: {error}",
                    readable_transaction_id(document),
                )
            )
            continue
        kept_documents.append(document)
        kept_positions.append(position)
        kept_times.append(text)
    return kept_documents, kept_positions, kept_times, rejections

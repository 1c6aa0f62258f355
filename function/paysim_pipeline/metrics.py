"""The metric engine: events grouped by window and dimensions with numpy, aggregated additively.

Every output row is a partial aggregate of one batch (count, sum, min, max, histogram counts), which
the PostgreSQL sink adds to the stored row: the same result whichever way batches are cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from paysim_pipeline.normalize import DIMENSIONS, EventColumns, Factor

if TYPE_CHECKING:
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]

PAYMENT_WINDOW_SECONDS = 300  # payment_metrics_5m's windows, fixed by its CHECK constraints
HISTOGRAM_BUCKETS = 40


@dataclass(frozen=True, slots=True)
class Groups:
    """Rows grouped by equal keys: `index[row]` is the row's group; groups are sorted by key."""

    index: IntArray
    order: IntArray  # rows sorted by group, batch order kept within a group
    starts: IntArray  # where each group starts in `order`

    @classmethod
    def of(cls, keys: Sequence[IntArray]) -> Groups:
        """Groups of the rows whose integer keys are all equal (at least one key, at least one row)."""
        combined = np.zeros(len(keys[0]), dtype=np.int64)
        for key in keys:
            # Compressing after every key keeps the combined code below rows², so it never overflows.
            values, codes = np.unique(key, return_inverse=True)
            _, combined = np.unique(combined * len(values) + codes, return_inverse=True)
        order = np.argsort(combined, kind="stable")
        ordered = combined[order]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        return cls(combined, order, starts)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def first(self) -> IntArray:
        """The first row of each group, in batch order."""
        first: IntArray = self.order[self.starts]
        return first

    def count(self) -> IntArray:
        counts: IntArray = np.diff(np.append(self.starts, len(self.order)))
        return counts

    def sum(self, values: npt.NDArray[np.int64] | npt.NDArray[np.bool_]) -> IntArray:
        sums: IntArray = np.add.reduceat(values[self.order].astype(np.int64), self.starts)
        return sums

    def min(self, values: IntArray) -> IntArray:
        smallest: IntArray = np.minimum.reduceat(values[self.order], self.starts)
        return smallest

    def max(self, values: IntArray) -> IntArray:
        largest: IntArray = np.maximum.reduceat(values[self.order], self.starts)
        return largest

    def categories(self, factor: Factor) -> Factor:
        """The category each group has in `factor` (one of its keys)."""
        return factor.take(self.first)


def amount_buckets(amounts: IntArray) -> IntArray:
    """The fixed log2 histogram bucket of each amount: 0 for <= 0, else min(bit_length, 39)."""
    # frexp's exponent is the bit length of an integer-valued float; amounts below 2^53 are exact, and
    # larger ones are in the last bucket whatever the rounding.
    bit_length = np.frexp(amounts.astype(np.float64))[1].astype(np.int64)
    buckets: IntArray = np.where(amounts <= 0, 0, np.minimum(bit_length, HISTOGRAM_BUCKETS - 1))
    return buckets


def window_index(event_ms: IntArray, window_seconds: int) -> IntArray:
    """Each event's window number: window start = number * window_seconds (UTC, epoch-aligned)."""
    windows: IntArray = event_ms // (window_seconds * 1000)
    return windows


@dataclass(frozen=True, slots=True)
class PaymentMetricRows:
    """One row per (window, dimensions) for payment_metrics_5m and aggregate_histograms."""

    window_start_s: IntArray
    dimensions: dict[str, Factor]  # DIMENSIONS -> one category per row
    event_count: IntArray
    amount_sum: IntArray
    amount_min: IntArray
    amount_max: IntArray
    fraud_count: IntArray
    first_event_ms: IntArray
    last_event_ms: IntArray
    bucket_counts: IntArray  # HISTOGRAM_BUCKETS counts per row, rows concatenated


@dataclass(frozen=True, slots=True)
class RunMetricRows:
    """One row per (run, window, dimensions) for run_metrics_5m."""

    run_id: Factor
    window_start_s: IntArray
    dimensions: dict[str, Factor]
    event_count: IntArray
    amount_sum: IntArray
    fraud_count: IntArray


def payment_metrics(events: EventColumns) -> PaymentMetricRows:
    """The batch's additive contribution to payment_metrics_5m and aggregate_histograms."""
    windows = window_index(events.event_ms, PAYMENT_WINDOW_SECONDS)
    groups = Groups.of([windows, *(events.factors[name].codes for name in DIMENSIONS)])
    histogram = np.bincount(
        groups.index * HISTOGRAM_BUCKETS + amount_buckets(events.amount_minor),
        minlength=len(groups) * HISTOGRAM_BUCKETS,
    )
    return PaymentMetricRows(
        window_start_s=windows[groups.first] * PAYMENT_WINDOW_SECONDS,
        dimensions={name: groups.categories(events.factors[name]) for name in DIMENSIONS},
        event_count=groups.count(),
        amount_sum=groups.sum(events.amount_minor),
        amount_min=groups.min(events.amount_minor),
        amount_max=groups.max(events.amount_minor),
        fraud_count=groups.sum(events.is_fraud),
        first_event_ms=groups.min(events.event_ms),
        last_event_ms=groups.max(events.event_ms),
        bucket_counts=histogram,
    )


def run_metrics(events: EventColumns) -> RunMetricRows:
    """The batch's contribution to run_metrics_5m: what `paysim verify` compares with a run's manifest."""
    windows = window_index(events.event_ms, PAYMENT_WINDOW_SECONDS)
    run = events.factors["run_id"]
    groups = Groups.of([run.codes, windows, *(events.factors[name].codes for name in DIMENSIONS)])
    return RunMetricRows(
        run_id=groups.categories(run),
        window_start_s=windows[groups.first] * PAYMENT_WINDOW_SECONDS,
        dimensions={name: groups.categories(events.factors[name]) for name in DIMENSIONS},
        event_count=groups.count(),
        amount_sum=groups.sum(events.amount_minor),
        fraud_count=groups.sum(events.is_fraud),
    )

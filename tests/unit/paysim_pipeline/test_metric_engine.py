"""The metric engine on hand-made columns: grouping, exact additive aggregates, histogram buckets."""

from __future__ import annotations

import numpy as np
import pytest

from paysim_pipeline.metrics import HISTOGRAM_BUCKETS, Groups, amount_buckets, payment_metrics, run_metrics
from paysim_pipeline.normalize import EventColumns, Factor


def _columns(rows: list[tuple[int, str, str, int, bool]]) -> EventColumns:
    """Rows of (event_ms, payment_type, status, amount, is_fraud); other dimensions fixed."""
    size = len(rows)
    return EventColumns(
        positions=np.arange(size),
        transaction_ids=[f"{index:08d}-0000-4000-8000-000000000000" for index in range(size)],
        event_ms=np.array([row[0] for row in rows], dtype=np.int64),
        amount_minor=np.array([row[3] for row in rows], dtype=np.int64),
        is_fraud=np.array([row[4] for row in rows], dtype=np.bool_),
        factors={
            "payment_type": Factor.of([row[1] for row in rows]),
            "currency": Factor.of(["EUR"] * size),
            "merchant_category": Factor.of(["5411"] * size),
            "channel": Factor.of(["pos"] * size),
            "status": Factor.of([row[2] for row in rows]),
            "run_id": Factor.of(["r1", "r2"] * (size // 2) + ["r1"] * (size % 2)),
        },
    )


@pytest.mark.parametrize(
    "amount", [-5, 0, 1, 2, 3, 1023, 1024, 2**38 - 1, 2**38, 2**53 - 1, 2**53, 2**62, 9223372036854775807]
)
def test_buckets_follow_the_documented_rule(amount: int) -> None:
    expected = 0 if amount <= 0 else min(amount.bit_length(), HISTOGRAM_BUCKETS - 1)
    assert amount_buckets(np.array([amount], dtype=np.int64)).tolist() == [expected]


def test_groups_keep_batch_order_within_a_group_and_sort_groups_by_key() -> None:
    groups = Groups.of([np.array([3, 1, 3, 1, 2]), np.array([0, 0, 0, 1, 0])])
    assert groups.index.tolist() == [3, 0, 3, 1, 2]
    assert groups.first.tolist() == [1, 3, 4, 0]
    assert groups.count().tolist() == [1, 1, 1, 2]
    assert groups.sum(np.array([10, 20, 30, 40, 50])).tolist() == [20, 40, 50, 40]


def test_payment_metrics_are_exact_per_window_and_dimensions() -> None:
    window = 1_700_000_100_000  # 300 s aligned
    columns = _columns(
        [
            (window + 5, "card", "approved", 2**53 + 1, False),
            (window + 299_999, "card", "approved", 2**53 + 1, True),
            (window + 300_000, "card", "approved", 7, False),
            (window + 1, "ach", "declined", 500, False),
        ]
    )
    rows = payment_metrics(columns)
    assert len(rows.event_count) == 3
    by_key = {
        (start, kind, status): index
        for index, (start, kind, status) in enumerate(
            zip(
                rows.window_start_s.tolist(),
                rows.dimensions["payment_type"].labels(),
                rows.dimensions["status"].labels(),
                strict=True,
            )
        )
    }
    card = by_key[(window // 1000, "card", "approved")]
    assert rows.amount_sum[card] == 2**54 + 2  # integer sums, exact past float precision
    assert (rows.event_count[card], rows.fraud_count[card]) == (2, 1)
    assert (rows.first_event_ms[card], rows.last_event_ms[card]) == (window + 5, window + 299_999)
    histogram = rows.bucket_counts.reshape(-1, HISTOGRAM_BUCKETS)
    assert histogram.sum() == 4
    assert histogram[by_key[(window // 1000 + 300, "card", "approved")]][3] == 1  # 7 has 3 bits
    assert run_metrics(columns).event_count.sum() == 4

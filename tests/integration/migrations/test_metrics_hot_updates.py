"""Migration 0010: the metric upserts are heap-only (HOT) updates, and the bucket addition still adds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from paysim_cli.migrations import upgrade

WINDOW = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
METRIC_TABLES = ("payment_metrics_5m", "aggregate_histograms", "dynamic_metrics")

# One row of each metric table, added to again and again (as every batch of a window does).
UPSERTS = (
    """INSERT INTO payment_metrics_5m AS m (
        window_start, payment_type, currency, merchant_category, channel, status,
        event_count, amount_sum, amount_min, amount_max, fraud_count, first_event_time, last_event_time
    ) VALUES (%(window)s, 'card', 'EUR', '5411', 'online', 'approved', 1, 10, 10, 10, 0, %(at)s, %(at)s)
    ON CONFLICT (window_start, payment_type, currency, merchant_category, channel, status) DO UPDATE SET
        event_count = m.event_count + EXCLUDED.event_count,
        amount_sum = m.amount_sum + EXCLUDED.amount_sum,
        updated_at = now()""",
    """INSERT INTO aggregate_histograms AS h (
        window_start, payment_type, currency, merchant_category, channel, status, amount_bucket_counts
    ) VALUES (%(window)s, 'card', 'EUR', '5411', 'online', 'approved', %(buckets)s)
    ON CONFLICT (window_start, payment_type, currency, merchant_category, channel, status) DO UPDATE SET
        amount_bucket_counts =
            paysim_add_bucket_counts(h.amount_bucket_counts, EXCLUDED.amount_bucket_counts),
        updated_at = now()""",
    """INSERT INTO dynamic_metrics AS d (metric_name, window_start, window_seconds, value, sample_count)
    VALUES ('fraud_score_sum', %(window)s, 300, 1, 1)
    ON CONFLICT (metric_name, window_start, window_seconds, dimensions) DO UPDATE SET
        value = d.value + EXCLUDED.value, sample_count = d.sample_count + EXCLUDED.sample_count,
        updated_at = now()""",
)

# 0001's addition, element by element: what 0010's function must still return.
ADDED_AS_IN_0001 = """
SELECT ARRAY(
    SELECT c + a FROM unnest(%(current)s::bigint[], %(added)s::bigint[]) WITH ORDINALITY AS p (c, a, n)
    ORDER BY n
)"""


def counters(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """Per metric table, (updates, HOT updates) so far, this session's included."""
    conn.execute("SELECT pg_stat_force_next_flush()")  # flushed when the session goes idle after it
    rows = conn.execute(
        "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = ANY(%s)",
        (list(METRIC_TABLES),),
    ).fetchall()
    return {name: (updated, hot) for name, updated, hot in rows}


def updates(conn: psycopg.Connection, upserts: int) -> dict[str, tuple[int, int]]:
    """Per metric table, (updates, HOT updates) of `upserts` upserts of one row, each batch's own
    transaction (within one, now() and so updated_at would not change)."""
    values = {"window": WINDOW, "at": WINDOW + timedelta(seconds=1), "buckets": [0] * 39 + [1]}
    before = counters(conn)
    for _ in range(upserts):
        with conn.transaction():
            for statement in UPSERTS:
                conn.execute(statement, values)
    after = counters(conn)
    return {name: (after[name][0] - before[name][0], after[name][1] - before[name][1]) for name in after}


@pytest.fixture
def conn(database_url: str):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def test_metric_upserts_are_heap_only_updates_after_0010(db_settings, conn) -> None:
    upgrade(db_settings, 9)
    before = updates(conn, 10)
    # 0005's updated_at index made every payment_metrics_5m update write a new index entry.
    assert before["payment_metrics_5m"] == (9, 0)
    conn.execute("TRUNCATE payment_metrics_5m, aggregate_histograms, dynamic_metrics")
    upgrade(db_settings, 10)
    assert updates(conn, 10) == dict.fromkeys(METRIC_TABLES, (9, 9))
    assert conn.execute(
        "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s) ORDER BY 1", (list(METRIC_TABLES),)
    ).fetchall() == [(name, ["fillfactor=50"]) for name in sorted(METRIC_TABLES)]


def test_the_bucket_addition_returns_what_0001s_returned(db_settings, conn) -> None:
    upgrade(db_settings, 10)
    chooser = random.Random(10)
    cases = [([0] * 40, [0] * 40), ([2**40] * 40, [2**40] * 40), ([5] * 40, [None] + [0] * 39)]
    for _ in range(200):
        current = [chooser.randrange(0, 10**9) for _ in range(40)]
        added = [chooser.choice((0, 0, 0, 1, 2, 7, 10**6)) for _ in range(40)]
        cases.append((current, added))
    for current, added in cases:
        params = {"current": current, "added": added}
        expected = conn.execute(ADDED_AS_IN_0001, params).fetchone()
        assert (
            conn.execute(
                "SELECT paysim_add_bucket_counts(%(current)s::bigint[], %(added)s::bigint[])", params
            ).fetchone()
            == expected
        )
    assert conn.execute("SELECT paysim_add_bucket_counts(NULL, '{1}')").fetchone() == (None,)


def test_the_bucket_addition_refuses_arrays_of_different_lengths(db_settings, conn) -> None:
    upgrade(db_settings, 10)
    with pytest.raises(psycopg.errors.RaiseException, match="bucket counts of different lengths: 40 and 39"):
        conn.execute("SELECT paysim_add_bucket_counts(%s::bigint[], %s::bigint[])", ([0] * 40, [0] * 39))

"""The schema the pipeline writes into: additive upserts, the dedupe key and its partitions, the DLQ."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from paysim_cli.migrations import upgrade

WINDOW = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
DIMENSIONS = ("card", "EUR", "5411", "online", "approved")

# The upserts docs/db.md gives the pipeline, exercised here exactly as written there.
UPSERT_METRICS = """
INSERT INTO payment_metrics_5m AS m (
    window_start, payment_type, currency, merchant_category, channel, status,
    event_count, amount_sum, amount_min, amount_max, fraud_count, first_event_time, last_event_time
) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (window_start, payment_type, currency, merchant_category, channel, status) DO UPDATE SET
    event_count = m.event_count + EXCLUDED.event_count,
    amount_sum = m.amount_sum + EXCLUDED.amount_sum,
    amount_min = least(m.amount_min, EXCLUDED.amount_min),
    amount_max = greatest(m.amount_max, EXCLUDED.amount_max),
    fraud_count = m.fraud_count + EXCLUDED.fraud_count,
    first_event_time = least(m.first_event_time, EXCLUDED.first_event_time),
    last_event_time = greatest(m.last_event_time, EXCLUDED.last_event_time),
    updated_at = now()
"""
UPSERT_HISTOGRAM = """
INSERT INTO aggregate_histograms AS h (
    window_start, payment_type, currency, merchant_category, channel, status, amount_bucket_counts
) VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (window_start, payment_type, currency, merchant_category, channel, status) DO UPDATE SET
    amount_bucket_counts = paysim_add_bucket_counts(h.amount_bucket_counts, EXCLUDED.amount_bucket_counts),
    updated_at = now()
"""
UPSERT_DYNAMIC = """
INSERT INTO dynamic_metrics AS d (metric_name, window_start, window_seconds, dimensions, value, sample_count)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (metric_name, window_start, window_seconds, dimensions) DO UPDATE SET
    value = d.value + EXCLUDED.value,
    sample_count = d.sample_count + EXCLUDED.sample_count,
    updated_at = now()
"""
INSERT_DEDUPE = """
INSERT INTO processed_transactions (transaction_id, event_day)
SELECT * FROM unnest(%s::uuid[], %s::date[])
ON CONFLICT DO NOTHING
RETURNING transaction_id
"""
UPSERT_CHECKPOINT = """
INSERT INTO partition_checkpoints AS c (consumer_group, partition_id, last_sequence_number, last_offset,
                                       last_enqueued_time)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (consumer_group, partition_id) DO UPDATE SET
    last_sequence_number = EXCLUDED.last_sequence_number,
    last_offset = EXCLUDED.last_offset,
    last_enqueued_time = EXCLUDED.last_enqueued_time,
    updated_at = now()
WHERE c.last_sequence_number < EXCLUDED.last_sequence_number
"""


def bucket(amount: int) -> int:
    """The documented bucket of an amount in minor units, as the pipeline computes it in Python."""
    return min(amount.bit_length(), 39) if amount > 0 else 0


@pytest.fixture
def conn(db_settings, database_url: str):
    upgrade(db_settings)
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def test_metrics_histograms_and_dynamic_metrics_upsert_additively(conn) -> None:
    first, last = WINDOW + timedelta(seconds=10), WINDOW + timedelta(seconds=290)
    conn.execute(UPSERT_METRICS, (WINDOW, *DIMENSIONS, 2, 1500, 500, 1000, 1, last, last))
    conn.execute(UPSERT_METRICS, (WINDOW, *DIMENSIONS, 1, 20, 20, 20, 0, first, first))
    assert conn.execute(
        "SELECT event_count, amount_sum, amount_min, amount_max, fraud_count,"
        " first_event_time, last_event_time FROM payment_metrics_5m"
    ).fetchall() == [(3, 1520, 20, 1000, 1, first, last)]

    batch = [0] * 40
    for amount in (500, 1000):
        batch[bucket(amount)] += 1
    conn.execute(UPSERT_HISTOGRAM, (WINDOW, *DIMENSIONS, batch))
    conn.execute(UPSERT_HISTOGRAM, (WINDOW, *DIMENSIONS, batch))
    counts = conn.execute("SELECT amount_bucket_counts FROM aggregate_histograms").fetchone()[0]
    assert counts[bucket(500)] == counts[bucket(1000)] == 2
    assert sum(counts) == 4

    dimensions = psycopg.types.json.Jsonb({"country": "NL", "channel": "online"})
    for value in (3, 4):
        conn.execute(UPSERT_DYNAMIC, ("fraud_score_sum", WINDOW, 300, dimensions, value, 1))
    reordered = psycopg.types.json.Jsonb({"channel": "online", "country": "NL"})
    conn.execute(UPSERT_DYNAMIC, ("fraud_score_sum", WINDOW, 300, reordered, 5, 2))
    assert conn.execute("SELECT value, sample_count FROM dynamic_metrics").fetchall() == [(12, 4)]


@pytest.mark.parametrize(
    ("statement", "values"),
    [
        (UPSERT_METRICS, (WINDOW + timedelta(minutes=1), *DIMENSIONS, 1, 1, 1, 1, 0, WINDOW, WINDOW)),
        (
            UPSERT_METRICS,
            (WINDOW, "card", "eur", "5411", "online", "approved", 1, 1, 1, 1, 0, WINDOW, WINDOW),
        ),
        (UPSERT_METRICS, (WINDOW, *DIMENSIONS, 1, 1, 1, 1, 2, WINDOW, WINDOW)),
        (UPSERT_METRICS, (WINDOW, *DIMENSIONS, 1, 1, 1, 1, 0, WINDOW + timedelta(minutes=5), WINDOW)),
        (UPSERT_HISTOGRAM, (WINDOW, *DIMENSIONS, [0] * 39)),
        (UPSERT_HISTOGRAM, (WINDOW, *DIMENSIONS, [None] + [0] * 39)),
        (UPSERT_DYNAMIC, ("Bad-Name", WINDOW, 300, psycopg.types.json.Jsonb({}), 1, 1)),
        (UPSERT_DYNAMIC, ("rate", WINDOW, 7, psycopg.types.json.Jsonb({}), 1, 1)),
        (UPSERT_DYNAMIC, ("rate", WINDOW, 300, psycopg.types.json.Jsonb([1]), 1, 1)),
    ],
)
def test_constraints_reject_what_the_pipeline_must_never_write(conn, statement, values) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(statement, values)


def test_the_sql_bucket_function_matches_the_python_rule(conn) -> None:
    amounts = [-1, 0, 1, 2, 3, 4, 255, 256, 99_999, 2**38 - 1, 2**38, 2**63 - 1]
    rows = conn.execute(
        "SELECT paysim_amount_bucket(a) FROM unnest(%s::bigint[]) AS a", (amounts,)
    ).fetchall()
    assert [row[0] for row in rows] == [bucket(amount) for amount in amounts]
    bounds = conn.execute(
        "SELECT bucket, array_index, lower_bound, upper_bound FROM amount_histogram_buckets"
    )
    assert bounds.fetchall()[:3] == [(0, 1, None, 0), (1, 2, 1, 1), (2, 3, 2, 3)]


def test_dedupe_inserts_report_only_new_transaction_ids(conn) -> None:
    today = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()[0]
    seen, new = uuid.uuid4(), uuid.uuid4()
    assert conn.execute(INSERT_DEDUPE, ([seen], [today])).fetchall() == [(seen,)]
    # A redelivered batch: only the unseen id comes back, so only its event is aggregated.
    assert conn.execute(INSERT_DEDUPE, ([seen, new], [today, today])).fetchall() == [(new,)]
    far_future = date(2099, 1, 1)  # no day partition: lands in the default partition, still deduplicated
    assert conn.execute(INSERT_DEDUPE, ([seen], [far_future])).fetchall() == [(seen,)]
    assert conn.execute(INSERT_DEDUPE, ([seen], [far_future])).fetchall() == []
    assert conn.execute(
        "SELECT tableoid::regclass::text FROM processed_transactions WHERE event_day = %s", (far_future,)
    ).fetchall() == [("processed_transactions_default",)]


def test_dedupe_partitions_are_created_ahead_and_dropped_when_old(conn) -> None:
    def partitions() -> list[str]:
        rows = conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'processed_transactions'::regclass ORDER BY 1"
        )
        return [row[0] for row in rows]

    today = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()[0]
    created_by_migration = partitions()
    assert len(created_by_migration) == 10  # yesterday + 8 days ahead + the default partition
    assert f"processed_transactions_p{today:%Y%m%d}" in created_by_migration

    start = date(2030, 3, 1)
    early = uuid.uuid4()
    conn.execute(INSERT_DEDUPE, ([early], [start]))  # before its partition exists: in the default one
    assert conn.execute("SELECT paysim_ensure_dedupe_partitions(%s, 3)", (start,)).fetchone() == (3,)
    assert conn.execute("SELECT paysim_ensure_dedupe_partitions(%s, 3)", (start,)).fetchone() == (0,)
    assert conn.execute(
        "SELECT tableoid::regclass::text FROM processed_transactions WHERE transaction_id = %s", (early,)
    ).fetchall() == [("processed_transactions_p20300301",)]
    assert conn.execute(INSERT_DEDUPE, ([early], [start])).fetchall() == []  # still a duplicate

    old = uuid.uuid4()
    conn.execute(INSERT_DEDUPE, ([old], [date(2001, 1, 1)]))  # an ancient day, in the default partition
    dropped = conn.execute(
        "SELECT paysim_drop_dedupe_partitions(%s)", (start + timedelta(days=2),)
    ).fetchone()
    assert dropped == (11,)  # the migration's nine days and 2030-03-01, 2030-03-02
    assert partitions() == ["processed_transactions_default", "processed_transactions_p20300303"]
    assert conn.execute(
        "SELECT count(*) FROM processed_transactions WHERE transaction_id = %s", (old,)
    ).fetchone() == (0,)

    with pytest.raises(psycopg.errors.RaiseException, match="days must be 0 or more"):
        conn.execute("SELECT paysim_ensure_dedupe_partitions(%s, -1)", (start,))


def test_checkpoints_only_move_forward(conn) -> None:
    conn.execute(UPSERT_CHECKPOINT, ("$Default", "0", 41, "4100", WINDOW))
    conn.execute(UPSERT_CHECKPOINT, ("$Default", "0", 42, "4200", WINDOW))
    conn.execute(UPSERT_CHECKPOINT, ("$Default", "0", 40, "4000", WINDOW))  # a stale worker's commit
    assert conn.execute("SELECT last_sequence_number, last_offset FROM partition_checkpoints").fetchall() == [
        (42, "4200")
    ]


def test_failed_items_keep_the_raw_bytes_and_their_status_rules(conn) -> None:
    insert = (
        "INSERT INTO failed_items (raw_payload, stage, error_code, error_message, source_partition,"
        " source_sequence_number) VALUES (%s, 'validate', 'invalid_json', 'not JSON', '1', 7)"
        " ON CONFLICT (source_partition, source_sequence_number) WHERE source_sequence_number IS NOT NULL"
        " DO NOTHING RETURNING id"
    )
    payload = b"\xff\x00not json"
    assert len(conn.execute(insert, (payload,)).fetchall()) == 1
    assert conn.execute(insert, (payload,)).fetchall() == []  # the redelivered event is recorded once
    # The trigger owns updated_at: even a writer that sets it gets the time of its update.
    conn.execute(
        "UPDATE failed_items SET status = 'replayed', attempts = attempts + 1, updated_at = '2000-01-01'"
    )
    row = conn.execute("SELECT raw_payload, status, attempts, updated_at >= created_at FROM failed_items")
    assert row.fetchone() == (payload, "replayed", 2, True)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE failed_items SET status = 'lost'")

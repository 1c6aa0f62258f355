"""The sink's SQL: bulk statements only, one per table, each row set passed as unnest arrays.

Upserts list their rows in key order (ORDER BY in the INSERT ... SELECT), so two partitions' batches
touching the same metric rows lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence

from paysim_pipeline.normalize import DIMENSIONS

_EPOCH_MS = "timestamptz 'epoch' + {} * interval '1 millisecond'"

LOCK_CHECKPOINT = """
SELECT last_sequence_number FROM partition_checkpoints
WHERE consumer_group = %s AND partition_id = %s
FOR UPDATE"""

ADVANCE_CHECKPOINT = """
INSERT INTO partition_checkpoints AS c (
    consumer_group, partition_id, last_sequence_number, last_offset, last_enqueued_time
) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (consumer_group, partition_id) DO UPDATE SET
    last_sequence_number = EXCLUDED.last_sequence_number,
    last_offset = EXCLUDED.last_offset,
    last_enqueued_time = EXCLUDED.last_enqueued_time,
    updated_at = now()
WHERE c.last_sequence_number < EXCLUDED.last_sequence_number"""

# The positions (1-based) of the batch's rows that are new: the first of each (id, day) not yet stored.
CLAIM_TRANSACTIONS = """
WITH batch AS (
    SELECT * FROM unnest(%s::uuid[], %s::bigint[])
        WITH ORDINALITY AS b (transaction_id, day_number, position)
), inserted AS (
    INSERT INTO processed_transactions (transaction_id, event_day)
    SELECT transaction_id, date '1970-01-01' + day_number::integer FROM batch ORDER BY 1, 2
    ON CONFLICT DO NOTHING
    RETURNING transaction_id, event_day
)
SELECT coalesce(array_agg(first_position), '{}') FROM (
    SELECT min(batch.position) AS first_position
    FROM inserted JOIN batch
      ON batch.transaction_id = inserted.transaction_id
     AND date '1970-01-01' + batch.day_number::integer = inserted.event_day
    GROUP BY inserted.transaction_id, inserted.event_day
) AS claimed"""

_DIMENSIONS_SQL = ", ".join(DIMENSIONS)


def _categories(names: Sequence[str]) -> str:
    """Category columns arrive as codes (bigint[]) and their values (text[]): decoded in SQL, so only
    a batch's few distinct values are sent as text."""
    return ", ".join(f"(%({name}_values)s::text[])[{name} + 1] AS {name}" for name in names)


def _codes(names: Sequence[str]) -> str:
    return ", ".join(f"%({name})s::bigint[]" for name in names)


UPSERT_PAYMENT_METRICS = f"""
WITH rows AS (
    SELECT window_start, {_categories(DIMENSIONS)}, event_count, amount_sum, amount_min, amount_max,
           fraud_count, first_ms, last_ms, position
    FROM unnest(
        %(window_start)s::bigint[], {_codes(DIMENSIONS)}, %(event_count)s::bigint[],
        %(amount_sum)s::bigint[], %(amount_min)s::bigint[], %(amount_max)s::bigint[],
        %(fraud_count)s::bigint[], %(first_ms)s::bigint[], %(last_ms)s::bigint[]
    ) WITH ORDINALITY AS r (
        window_start, {_DIMENSIONS_SQL}, event_count, amount_sum, amount_min, amount_max,
        fraud_count, first_ms, last_ms, position
    )
), metrics AS (
    INSERT INTO payment_metrics_5m AS m (
        window_start, {_DIMENSIONS_SQL}, event_count, amount_sum, amount_min, amount_max,
        fraud_count, first_event_time, last_event_time
    )
    SELECT to_timestamp(window_start), {_DIMENSIONS_SQL}, event_count, amount_sum, amount_min, amount_max,
           fraud_count, {_EPOCH_MS.format("first_ms")}, {_EPOCH_MS.format("last_ms")}
    FROM rows ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (window_start, {_DIMENSIONS_SQL}) DO UPDATE SET
        event_count = m.event_count + EXCLUDED.event_count,
        amount_sum = m.amount_sum + EXCLUDED.amount_sum,
        amount_min = least(m.amount_min, EXCLUDED.amount_min),
        amount_max = greatest(m.amount_max, EXCLUDED.amount_max),
        fraud_count = m.fraud_count + EXCLUDED.fraud_count,
        first_event_time = least(m.first_event_time, EXCLUDED.first_event_time),
        last_event_time = greatest(m.last_event_time, EXCLUDED.last_event_time),
        updated_at = now()
)
INSERT INTO aggregate_histograms AS h (window_start, {_DIMENSIONS_SQL}, amount_bucket_counts)
SELECT to_timestamp(window_start), {_DIMENSIONS_SQL},
       (%(bucket_counts)s::bigint[])[(position - 1) * %(buckets)s + 1 : position * %(buckets)s]
FROM rows ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (window_start, {_DIMENSIONS_SQL}) DO UPDATE SET
    amount_bucket_counts = paysim_add_bucket_counts(h.amount_bucket_counts, EXCLUDED.amount_bucket_counts),
    updated_at = now()"""

UPSERT_RUN_METRICS = f"""
INSERT INTO run_metrics_5m AS m (
    run_id, window_start, {_DIMENSIONS_SQL}, event_count, amount_sum, fraud_count
)
SELECT {_categories(["run_id"])}, to_timestamp(window_start), {_categories(DIMENSIONS)},
       event_count, amount_sum, fraud_count
FROM unnest(
    %(run_id)s::bigint[], %(window_start)s::bigint[], {_codes(DIMENSIONS)},
    %(event_count)s::bigint[], %(amount_sum)s::bigint[], %(fraud_count)s::bigint[]
) AS r (run_id, window_start, {_DIMENSIONS_SQL}, event_count, amount_sum, fraud_count)
ORDER BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT (run_id, window_start, {_DIMENSIONS_SQL}) DO UPDATE SET
    event_count = m.event_count + EXCLUDED.event_count,
    amount_sum = m.amount_sum + EXCLUDED.amount_sum,
    fraud_count = m.fraud_count + EXCLUDED.fraud_count,
    updated_at = now()"""

# Upserts the rows and returns, per threshold metric and window, how many groups reached their
# threshold with this batch: value before < threshold <= value after (the row lock makes it exact).
UPSERT_DYNAMIC_METRICS = """
WITH rows AS (
    SELECT * FROM unnest(
        %s::text[], %s::bigint[], %s::integer[], %s::jsonb[], %s::bigint[], %s::bigint[],
        %s::text[], %s::bigint[]
    ) AS r (
        metric_name, window_start, window_seconds, dimensions, value, sample_count,
        threshold_metric, threshold
    )
), upserted AS (
    INSERT INTO dynamic_metrics AS d (
        metric_name, window_start, window_seconds, dimensions, value, sample_count
    )
    SELECT metric_name, to_timestamp(window_start), window_seconds, dimensions, value, sample_count
    FROM rows ORDER BY 1, 2, 3, 4
    ON CONFLICT (metric_name, window_start, window_seconds, dimensions) DO UPDATE SET
        value = d.value + EXCLUDED.value,
        sample_count = d.sample_count + EXCLUDED.sample_count,
        updated_at = now()
    RETURNING metric_name, window_start, window_seconds, dimensions, value
)
SELECT rows.threshold_metric, rows.window_start, rows.window_seconds, count(*)
FROM upserted JOIN rows
  ON rows.metric_name = upserted.metric_name
 AND to_timestamp(rows.window_start) = upserted.window_start
 AND rows.window_seconds = upserted.window_seconds
 AND rows.dimensions = upserted.dimensions
WHERE rows.threshold IS NOT NULL
  AND upserted.value >= rows.threshold
  AND upserted.value - rows.value < rows.threshold
GROUP BY 1, 2, 3"""

INSERT_FAILED_ITEMS = """
INSERT INTO failed_items (
    raw_payload, stage, error_code, error_message, source_partition, source_sequence_number,
    source_offset, source_enqueued_time, transaction_id, run_id
)
SELECT raw_payload, stage, error_code, error_message, %s, source_sequence_number,
       source_offset, source_enqueued_time, transaction_id, run_id
FROM unnest(
    %s::bytea[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::timestamptz[],
    %s::uuid[], %s::text[]
) AS r (
    raw_payload, stage, error_code, error_message, source_sequence_number, source_offset,
    source_enqueued_time, transaction_id, run_id
)
ORDER BY source_sequence_number
ON CONFLICT (source_partition, source_sequence_number) WHERE source_sequence_number IS NOT NULL DO NOTHING
RETURNING run_id"""

UPSERT_RUN_TOTALS = """
INSERT INTO run_totals AS t (run_id, processed, duplicates_dropped, failed, first_commit_at, last_commit_at)
SELECT run_id, processed, duplicates_dropped, failed, statement_timestamp(), statement_timestamp()
FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[])
    AS r (run_id, processed, duplicates_dropped, failed)
ORDER BY 1
ON CONFLICT (run_id) DO UPDATE SET
    processed = t.processed + EXCLUDED.processed,
    duplicates_dropped = t.duplicates_dropped + EXCLUDED.duplicates_dropped,
    failed = t.failed + EXCLUDED.failed,
    first_commit_at = least(t.first_commit_at, EXCLUDED.first_commit_at),
    last_commit_at = greatest(t.last_commit_at, EXCLUDED.last_commit_at)"""

RECORD_CANARIES = """
INSERT INTO canary_payments (
    transaction_id, run_id, source_partition, source_sequence_number, source_enqueued_time, event_time
)
SELECT transaction_id, run_id, %s, source_sequence_number, source_enqueued_time,
       timestamptz 'epoch' + event_ms * interval '1 millisecond'
FROM unnest(%s::uuid[], %s::text[], %s::bigint[], %s::timestamptz[], %s::bigint[])
    AS r (transaction_id, run_id, source_sequence_number, source_enqueued_time, event_ms)
ORDER BY transaction_id
ON CONFLICT (transaction_id) DO NOTHING"""

ENSURE_PARTITIONS = "SELECT paysim_ensure_dedupe_partitions(date '1970-01-01' + %s, %s)"

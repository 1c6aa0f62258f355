"""The PostgreSQL sink: one transaction per batch, bulk statements only (unnest arrays, one per table).

Upserts list their rows in key order (ORDER BY in the INSERT ... SELECT), so two partitions' batches
touching the same metric rows lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import psycopg
from psycopg.adapt import Dumper
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import Format

from paysim_pipeline.normalize import DIMENSIONS, Factor
from paysim_pipeline.rules import DynamicMetricRows

if TYPE_CHECKING:
    import numpy.typing as npt
    from azure.core.credentials import AccessToken

    from paysim_pipeline.canary import CanaryRows
    from paysim_pipeline.metrics import PaymentMetricRows, RunMetricRows

    IntArray = npt.NDArray[np.int64]

Connection = psycopg.Connection[tuple[Any, ...]]

# The scope Azure Database for PostgreSQL accepts Entra ID access tokens for.
ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
TOKEN_REFRESH_MARGIN_SECONDS = 300
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
APPLICATION_NAME = "paysim-pipeline"
# Days of dedupe partitions ensured when a connection opens, from yesterday (UTC) on, like migration 0003.
PARTITION_DAYS_AHEAD = 9

INT8_OID, INT8_ARRAY_OID = 20, 1016
_ARRAY_HEADER = struct.Struct("!iiI")  # dimensions, has nulls, element type
_DIMENSION = struct.Struct("!ii")  # size, lower bound

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


@dataclass(frozen=True, slots=True)
class FailedItemRows:
    """Columns of the failed items of one batch, all from one source partition."""

    raw_payload: list[bytes]
    stage: list[str]
    error_code: list[str]
    error_message: list[str]
    sequence_number: list[int]
    offset: list[str | None]
    enqueued_time: list[datetime | None]
    transaction_id: list[str | None]
    run_id: list[str | None]


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Per run: events aggregated, duplicates dropped and failed items inserted by one batch."""

    run_id: list[str]
    processed: list[int]
    duplicates_dropped: list[int]
    failed: list[int]


class BigintArray:
    """A numpy column sent as a PostgreSQL bigint[] in binary format: no per-element Python work."""

    __slots__ = ("values",)

    def __init__(self, values: IntArray | Sequence[int]) -> None:
        self.values = np.asarray(values, dtype=np.int64)


class _BigintArrayDumper(Dumper):
    format = Format.BINARY
    oid = INT8_ARRAY_OID

    def dump(self, obj: BigintArray) -> bytes:
        count = len(obj.values)
        if not count:
            return _ARRAY_HEADER.pack(0, 0, INT8_OID)
        # One dimension, no nulls, then (length 8, big-endian value) per element.
        elements = np.empty(count, dtype=[("length", ">i4"), ("value", ">i8")])
        elements["length"] = 8
        elements["value"] = obj.values
        return _ARRAY_HEADER.pack(1, 0, INT8_OID) + _DIMENSION.pack(count, 1) + elements.tobytes()


def _category_params(columns: Mapping[str, Factor]) -> dict[str, object]:
    params: dict[str, object] = {}
    for name, factor in columns.items():
        params[name] = BigintArray(factor.codes)
        params[f"{name}_values"] = list(factor.values)
    return params


class EntraPassword:
    """An Entra ID access token for PostgreSQL, fetched again shortly before it expires."""

    def __init__(self) -> None:
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_on - TOKEN_REFRESH_MARGIN_SECONDS < time.time():
                from azure.identity import DefaultAzureCredential

                self._token = DefaultAzureCredential().get_token(ENTRA_SCOPE)
            return self._token.token


class Database:
    """Opens connections to the pipeline's PostgreSQL: URL as given, TLS required for a remote host."""

    def __init__(self, url: str, auth: Literal["password", "entra"]) -> None:
        params: dict[str, Any] = conninfo_to_dict(url)
        hosts = str(params.get("host", "")).split(",")
        if "sslmode" not in params and not all(host in LOCAL_HOSTS or host.startswith("/") for host in hosts):
            params["sslmode"] = "require"
        params.setdefault("application_name", APPLICATION_NAME)
        params.setdefault("connect_timeout", 10)
        self._params = params
        self._password = EntraPassword() if auth == "entra" else None

    def connect(self) -> Connection:
        extra: dict[str, Any] = {"password": self._password()} if self._password is not None else {}
        connection = psycopg.connect(**self._params, **extra)
        connection.adapters.register_dumper(BigintArray, _BigintArrayDumper)
        return connection


class PostgresSink:
    """One worker's connection: reopened after a failure, dedupe partitions kept ahead of its events."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._connection: Connection | None = None
        self._partition_days: set[int] = set()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> Connection:
        if self._connection is None or self._connection.closed or self._connection.broken:
            self.close()
            self._connection = self._database.connect()
            self._partition_days.clear()
            today = int(time.time() // 86400)
            self.ensure_dedupe_partitions(range(today - 1, today - 1 + PARTITION_DAYS_AHEAD))
        return self._connection

    def ensure_dedupe_partitions(self, days: Sequence[int] | IntArray) -> None:
        """Create the missing day partitions of processed_transactions for `days` (days since 1970-01-01).

        Its own short transaction, before the batch's: creating a partition moves rows out of the default
        partition under a strong lock that the batch's long transaction must not hold.
        """
        missing = set(np.unique(np.asarray(days)).tolist()) - self._partition_days
        if not missing:
            return
        connection = self._open()
        first, last = min(missing), max(missing)
        with connection.transaction():
            connection.execute(ENSURE_PARTITIONS, (first, last - first + 1))
        self._partition_days.update(range(first, last + 1))

    @contextmanager
    def batch(self) -> Iterator[BatchTransaction]:
        """The batch's transaction: committed when the block ends, rolled back if it raises."""
        connection = self._open()
        with connection.transaction():
            yield BatchTransaction(connection)


class BatchTransaction:
    """The statements of one batch, inside its transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock_checkpoint(self, consumer_group: str, partition_id: str) -> int | None:
        """The partition's last committed sequence number, its row locked until the end of the batch."""
        row = self._connection.execute(LOCK_CHECKPOINT, (consumer_group, partition_id)).fetchone()
        return None if row is None else int(row[0])

    def advance_checkpoint(
        self,
        consumer_group: str,
        partition_id: str,
        sequence_number: int,
        offset: str | None,
        enqueued_time: datetime | None,
    ) -> None:
        self._connection.execute(
            ADVANCE_CHECKPOINT, (consumer_group, partition_id, sequence_number, offset, enqueued_time)
        )

    def claim_transactions(self, transaction_ids: list[str], event_days: IntArray) -> IntArray:
        """Record the ids in the dedupe table; the rows (0-based) that were new, first occurrence only."""
        # One array literal (valid ids are plain UUIDs: nothing to quote); psycopg adapts lists item by item.
        ids = "{" + ",".join(transaction_ids) + "}"
        row = self._connection.execute(CLAIM_TRANSACTIONS, (ids, BigintArray(event_days))).fetchone()
        positions = np.array(row[0] if row is not None else [], dtype=np.int64)
        claimed: IntArray = np.sort(positions) - 1
        return claimed

    def upsert_payment_metrics(self, rows: PaymentMetricRows, buckets: int) -> None:
        self._connection.execute(
            UPSERT_PAYMENT_METRICS,
            {
                "window_start": BigintArray(rows.window_start_s),
                **_category_params(rows.dimensions),
                "event_count": BigintArray(rows.event_count),
                "amount_sum": BigintArray(rows.amount_sum),
                "amount_min": BigintArray(rows.amount_min),
                "amount_max": BigintArray(rows.amount_max),
                "fraud_count": BigintArray(rows.fraud_count),
                "first_ms": BigintArray(rows.first_event_ms),
                "last_ms": BigintArray(rows.last_event_ms),
                "bucket_counts": BigintArray(rows.bucket_counts),
                "buckets": buckets,
            },
        )

    def upsert_run_metrics(self, rows: RunMetricRows) -> None:
        self._connection.execute(
            UPSERT_RUN_METRICS,
            {
                "window_start": BigintArray(rows.window_start_s),
                **_category_params({"run_id": rows.run_id, **rows.dimensions}),
                "event_count": BigintArray(rows.event_count),
                "amount_sum": BigintArray(rows.amount_sum),
                "fraud_count": BigintArray(rows.fraud_count),
            },
        )

    def upsert_dynamic_metrics(self, rows: DynamicMetricRows) -> None:
        """Add the rows; then add 1 to a threshold metric for every group that reached its threshold."""
        crossings = self._connection.execute(
            UPSERT_DYNAMIC_METRICS,
            (
                rows.metric_name,
                rows.window_start_s,
                rows.window_seconds,
                rows.dimensions,
                rows.value,
                rows.sample_count,
                rows.threshold_metric,
                rows.threshold,
            ),
        ).fetchall()
        if crossings:
            reached = DynamicMetricRows()
            for metric, window_start, window_seconds, groups in crossings:
                reached.metric_name.append(metric)
                reached.window_start_s.append(window_start)
                reached.window_seconds.append(window_seconds)
                reached.dimensions.append("{}")
                reached.value.append(groups)
                reached.sample_count.append(groups)
                reached.threshold_metric.append(None)
                reached.threshold.append(None)
            self.upsert_dynamic_metrics(reached)

    def insert_failed_items(self, partition_id: str, items: FailedItemRows) -> list[str | None]:
        """Insert the items not stored before (by source partition and sequence number); their run ids."""
        inserted = self._connection.execute(
            INSERT_FAILED_ITEMS,
            (
                partition_id,
                items.raw_payload,
                items.stage,
                items.error_code,
                items.error_message,
                items.sequence_number,
                items.offset,
                items.enqueued_time,
                items.transaction_id,
                items.run_id,
            ),
        ).fetchall()
        return [run_id for (run_id,) in inserted]

    def upsert_run_totals(self, totals: RunTotals) -> None:
        self._connection.execute(
            UPSERT_RUN_TOTALS, (totals.run_id, totals.processed, totals.duplicates_dropped, totals.failed)
        )

    def record_canaries(self, partition_id: str, rows: CanaryRows) -> None:
        """Record health-probe canaries (never aggregated); a redelivered canary changes nothing."""
        self._connection.execute(
            RECORD_CANARIES,
            (
                partition_id,
                rows.transaction_id,
                rows.run_id,
                rows.sequence_number,
                rows.enqueued_time,
                rows.event_ms,
            ),
        )

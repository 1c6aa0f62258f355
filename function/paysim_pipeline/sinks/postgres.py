"""The PostgreSQL sink: one transaction per batch, bulk statements only (unnest arrays, one per table).

The statements are in postgres_statements, the binary wire types in postgres_wire, the connection
rules in postgres_connection; this module runs them in a batch's transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from paysim_pipeline.normalize import Factor
from paysim_pipeline.rules import DynamicMetricRows
from paysim_pipeline.sinks.postgres_connection import Database, EntraPassword
from paysim_pipeline.sinks.postgres_statements import (
    ADVANCE_CHECKPOINT,
    CLAIM_TRANSACTIONS,
    ENSURE_PARTITIONS,
    INSERT_FAILED_ITEMS,
    LOCK_CHECKPOINT,
    RECORD_CANARIES,
    UPSERT_DYNAMIC_METRICS,
    UPSERT_PAYMENT_METRICS,
    UPSERT_RUN_METRICS,
    UPSERT_RUN_TOTALS,
)
from paysim_pipeline.sinks.postgres_wire import BigintArray

if TYPE_CHECKING:
    import numpy.typing as npt

    from paysim_pipeline.canary import CanaryRows
    from paysim_pipeline.metrics import PaymentMetricRows, RunMetricRows

    IntArray = npt.NDArray[np.int64]

# The sink's whole interface, with the connection and wire types callers hand it.
__all__ = [
    "BatchTransaction",
    "BigintArray",
    "Connection",
    "Database",
    "EntraPassword",
    "FailedItemRows",
    "PostgresSink",
    "RunTotals",
]

Connection = psycopg.Connection[tuple[Any, ...]]

# Days of dedupe partitions ensured when a connection opens, from yesterday (UTC) on, like migration 0003.
PARTITION_DAYS_AHEAD = 9


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


def _category_params(columns: Mapping[str, Factor]) -> dict[str, object]:
    params: dict[str, object] = {}
    for name, factor in columns.items():
        params[name] = BigintArray(factor.codes)
        params[f"{name}_values"] = list(factor.values)
    return params


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

"""The batch processor: decode → validate → normalize → dedupe → metric engine → sinks, exactly once.

For each batch, pure processing first (no I/O), then one PostgreSQL transaction: lock the partition's
checkpoint and skip what it covers, write the raw events to Blob, record the transaction ids (only
new ones are aggregated), upsert the aggregates, insert the failed items, advance the checkpoint,
commit. Anything that raises before the commit leaves the database as it was.

No event can fail its batch (ADR 0009): a batch that fails because of what its events hold is split,
each part committed on its own, until every event that still fails alone is a failed item. Only an
unavailable or misconfigured dependency makes `process` raise, and the host delivers the batch again.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import orjson
import psycopg

from paysim_pipeline.canary import split_canaries
from paysim_pipeline.config import PipelineConfig
from paysim_pipeline.decode import decode_bodies
from paysim_pipeline.events import IncomingEvent
from paysim_pipeline.metrics import HISTOGRAM_BUCKETS, payment_metrics, run_metrics
from paysim_pipeline.normalize import EventColumns, to_columns
from paysim_pipeline.outcome import BatchOutcome
from paysim_pipeline.rejection import (
    UNDECODABLE,
    ErrorCode,
    Rejection,
    Stage,
    readable_transaction_id,
)
from paysim_pipeline.rules import RuleSet, load_rules
from paysim_pipeline.sinks.blob import RawEventArchive, blob_name
from paysim_pipeline.sinks.postgres import (
    BatchTransaction,
    Database,
    FailedItemRows,
    PostgresSink,
    RunTotals,
)
from paysim_pipeline.storable import storable_text
from paysim_pipeline.telemetry import BatchRecorder, telemetry_from_environment
from paysim_pipeline.validate import EventValidator, event_time_rejections

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["BatchOutcome", "BatchProcessor", "IncomingEvent", "PreparedBatch"]

logger = logging.getLogger(__name__)

# Failed items of events isolated by splitting a batch (see failed_alone).
_ISOLATED_STAGES = frozenset({Stage.SINK, Stage.PROCESS})

# What may make a batch fail because of its events; caused_by_events tells those apart.
POSSIBLY_EVENT_ERRORS = (psycopg.Error, ValueError, TypeError, LookupError, ArithmeticError)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch after the pure stages: valid events as columns, and the rejections (by position)."""

    events: EventColumns
    rejections: list[Rejection]


class BatchProcessor:
    """Processes batches of an event hub's partitions; threads may share it (each gets a connection)."""

    def __init__(
        self,
        config: PipelineConfig,
        *,
        archive: RawEventArchive | None = None,
        telemetry: BatchRecorder | None = None,
    ) -> None:
        self.config = config
        self._telemetry = telemetry
        self._rules: RuleSet = load_rules(config.rules_file, config.window_seconds)
        self._validator = EventValidator()
        self._database = Database(config.database_url, config.database_auth)
        self._archive = archive if archive is not None else RawEventArchive.from_config(config)
        self._local = threading.local()
        self._sinks: list[PostgresSink] = []
        self._sinks_lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> BatchProcessor:
        """A processor configured by the app settings (PAYSIM_DATABASE_URL, ...: see PipelineConfig)."""
        return cls(PipelineConfig.from_environment(environ), telemetry=telemetry_from_environment(environ))

    def close(self) -> None:
        """Close every connection the processor opened."""
        with self._sinks_lock:
            for sink in self._sinks:
                sink.close()
            self._sinks.clear()
        self._local = threading.local()
        self._archive.close()

    def process(
        self, events: Sequence[IncomingEvent], partition_id: str, consumer_group: str
    ) -> BatchOutcome:
        """Process one batch of a partition, in sequence order, with exactly-once effect on the tables.

        Raises (`RawEventsUnavailable`, `psycopg.OperationalError`, ...) only when a dependency is
        unavailable or misconfigured; parts of a split batch committed before stay committed, and the
        partition's checkpoint makes delivering the whole batch again skip them.
        """
        if self._telemetry is None:
            return self._process(events, partition_id, consumer_group)
        started = time.perf_counter()
        try:
            outcome = self._process(events, partition_id, consumer_group)
        except Exception as error:
            self._telemetry.batch_failed(partition_id, error, time.perf_counter() - started)
            raise
        self._telemetry.batch_committed(partition_id, outcome, time.perf_counter() - started, events)
        return outcome

    def _process(
        self, events: Sequence[IncomingEvent], partition_id: str, consumer_group: str
    ) -> BatchOutcome:
        """The batch committed whole, or split until each part commits (see the module's docstring)."""
        try:
            return self._commit(events, partition_id, consumer_group)
        except POSSIBLY_EVENT_ERRORS as error:
            if not caused_by_events(error):
                raise
            failure = f"{type(error).__name__}: {error}"
            first, last = events[0].sequence_number, events[-1].sequence_number
            if len(events) == 1:
                logger.warning(
                    "partition %s, sequence number %d fails alone (%s)", partition_id, first, failure
                )
                return self._commit(events, partition_id, consumer_group, failed_alone(events[0], error))
            logger.warning(
                "partition %s, sequence numbers %d..%d: the batch fails because of its events (%s); "
                "splitting it",
                partition_id,
                first,
                last,
                failure,
            )
        middle = len(events) // 2
        head = self._process(events[:middle], partition_id, consumer_group)
        return head + self._process(events[middle:], partition_id, consumer_group)

    def _commit(
        self,
        events: Sequence[IncomingEvent],
        partition_id: str,
        consumer_group: str,
        failure: Rejection | None = None,
    ) -> BatchOutcome:
        """The batch in one transaction; with `failure`, its one event becomes that failed item."""
        delivered = len(events)
        prepared = self.prepare(events) if failure is None else PreparedBatch(self._no_events(), [failure])
        sink = self._sink()
        sink.ensure_dedupe_partitions(prepared.events.event_days)
        with sink.batch() as transaction:
            checkpoint = transaction.lock_checkpoint(consumer_group, partition_id)
            fresh = [
                position
                for position, event in enumerate(events)
                if checkpoint is None or event.sequence_number > checkpoint
            ]
            if not fresh:
                return BatchOutcome(0, 0, 0, delivered, datetime.now(UTC))
            if len(fresh) < delivered:
                events, prepared = _after(events, prepared, fresh)
            name, archived = self._archive_batch(events, prepared.rejections, partition_id, consumer_group)
            processed, duplicates, canaries = self._write(transaction, events, prepared, partition_id)
            last = max(events, key=lambda event: event.sequence_number)
            offset = None if last.offset is None else str(last.offset)
            transaction.advance_checkpoint(
                consumer_group, partition_id, last.sequence_number, offset, last.enqueued_time
            )
            archived.result()  # the raw events are stored before the commit, or the batch fails
        return BatchOutcome(
            processed=processed,
            duplicates_dropped=duplicates,
            failed=len(prepared.rejections),
            skipped_below_checkpoint=delivered - len(fresh),
            committed_at=datetime.now(UTC),
            blob_names=(name,),
            failed_by_code=Counter(str(rejection.error_code) for rejection in prepared.rejections),
            canaries=canaries,
            isolated=0 if failure is None else len(prepared.rejections),
        )

    def prepare(self, events: Sequence[IncomingEvent]) -> PreparedBatch:
        """The pure stages, no I/O: decode, validate (schema, business rules, event time), normalize."""
        with _collector_paused():
            return self._prepare(events)

    def _no_events(self) -> EventColumns:
        columns, _ = to_columns([], [], self._rules.extra_fields)
        return columns

    def _prepare(self, events: Sequence[IncomingEvent]) -> PreparedBatch:
        config = self.config
        bodies = [event.body for event in events]
        documents, positions, rejections = decode_bodies(bodies, config.max_event_bytes)
        documents, positions, invalid = self._validator.validate(documents, positions, bodies)
        rejections += invalid
        columns, unconvertible = to_columns(documents, positions, self._rules.extra_fields)
        rejections += unconvertible
        in_range, out_of_range = event_time_rejections(
            columns,
            now_ms=int(time.time() * 1000),
            max_skew_seconds=config.max_event_skew_seconds,
            max_age_seconds=config.max_event_age_seconds,
        )
        if out_of_range:
            columns = columns.take(in_range.nonzero()[0])
            rejections += out_of_range
        return PreparedBatch(columns, rejections)

    def _archive_batch(
        self,
        events: Sequence[IncomingEvent],
        rejections: list[Rejection],
        partition_id: str,
        consumer_group: str,
    ) -> tuple[str, Future[None]]:
        sequence_numbers = [event.sequence_number for event in events]
        name = blob_name(
            self.config.eventhub_name,
            consumer_group,
            partition_id,
            min(sequence_numbers),
            max(sequence_numbers),
        )
        return name, self.archive_raw_events(name, events, partition_id, rejections)

    def archive_raw_events(
        self, name: str, events: Sequence[IncomingEvent], partition_id: str, rejections: list[Rejection]
    ) -> Future[None]:
        """Start writing `events` to blob `name` (bodies that are not JSON, and events that failed alone
        whatever broke, in base64); the future raises RawEventsUnavailable once the archive gave up."""
        undecodable = {
            rejection.position
            for rejection in rejections
            if rejection.error_code in UNDECODABLE or rejection.stage in _ISOLATED_STAGES
        }
        return self._archive.store(name, events, partition_id, undecodable)

    def _write(
        self,
        transaction: BatchTransaction,
        events: Sequence[IncomingEvent],
        prepared: PreparedBatch,
        partition_id: str,
    ) -> tuple[int, int, int]:
        """The batch's rows, in its transaction; returns (processed, duplicates dropped, canaries)."""
        valid, canaries = split_canaries(prepared.events, events)
        if canaries is not None:
            transaction.record_canaries(partition_id, canaries)
        new_rows, fresh = self.aggregate_new_payments(transaction, valid)
        if len(fresh):
            transaction.upsert_run_metrics(run_metrics(fresh))
        failed_runs: list[str | None] = []
        if prepared.rejections:
            failed_runs = transaction.insert_failed_items(
                partition_id, _failed_items(events, prepared.rejections)
            )
        totals = _run_totals(valid, new_rows, failed_runs)
        if totals.run_id:
            transaction.upsert_run_totals(totals)
        return len(fresh), len(valid) - len(fresh), 0 if canaries is None else len(canaries.transaction_id)

    def aggregate_new_payments(
        self, transaction: BatchTransaction, valid: EventColumns
    ) -> tuple[npt.NDArray[np.int64], EventColumns]:
        """Record the valid events' transaction ids and add only the new ones to the payment and dynamic
        metrics, in `transaction`; returns the new rows of `valid` and those events."""
        new_rows = (
            transaction.claim_transactions(valid.transaction_ids, valid.event_days)
            if len(valid)
            else np.empty(0, dtype=np.int64)
        )
        fresh = valid if len(new_rows) == len(valid) else valid.take(new_rows)
        if len(fresh):
            transaction.upsert_payment_metrics(payment_metrics(fresh), HISTOGRAM_BUCKETS)
            dynamic = self._rules.evaluate(fresh)
            if len(dynamic):
                transaction.upsert_dynamic_metrics(dynamic)
        return new_rows, fresh

    def _sink(self) -> PostgresSink:
        sink: PostgresSink | None = getattr(self._local, "sink", None)
        if sink is None:
            sink = PostgresSink(self._database)
            self._local.sink = sink
            with self._sinks_lock:
                self._sinks.append(sink)
        return sink


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Decoding makes thousands of acyclic dicts per batch, freed by reference counting; the cyclic
    collector's passes over them (every 700 allocations) cost as much as the decoding itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _after(
    events: Sequence[IncomingEvent], prepared: PreparedBatch, fresh: list[int]
) -> tuple[list[IncomingEvent], PreparedBatch]:
    """The part of a batch after the checkpoint, positions renumbered within it."""
    renumbered = np.full(len(events), -1, dtype=np.int64)
    renumbered[fresh] = np.arange(len(fresh))
    columns = prepared.events
    kept = (renumbered[columns.positions] >= 0).nonzero()[0]
    columns = columns.take(kept)
    columns = replace(columns, positions=renumbered[columns.positions])
    rejections = [
        replace(rejection, position=int(renumbered[rejection.position]))
        for rejection in prepared.rejections
        if renumbered[rejection.position] >= 0
    ]
    return [events[position] for position in fresh], PreparedBatch(columns, rejections)


def caused_by_events(error: Exception) -> bool:
    """Whether what the batch holds caused `error`, so that delivering it again would fail again.

    So are values PostgreSQL refuses (class 22 data exceptions, 23 constraint violations, 54 program
    limits such as an index row too large) and the value errors of the processor's own stages. An
    unavailable or misconfigured dependency (connection lost, disk full, a missing table, Blob storage
    down) is not: splitting cannot help there, and no event may become a failed item because of it.
    """
    if isinstance(error, psycopg.Error):
        return isinstance(error, psycopg.DataError | psycopg.IntegrityError) or (
            error.sqlstate or ""
        ).startswith("54")
    return True


def failed_alone(event: IncomingEvent, error: Exception) -> Rejection:
    """The failed item of an event whose batch of one still fails: the exception is its reason."""
    if isinstance(error, psycopg.IntegrityError):
        stage, code = Stage.SINK, ErrorCode.CONSTRAINT_VIOLATION
    elif isinstance(error, psycopg.Error):
        stage, code = Stage.SINK, ErrorCode.UNSTORABLE_VALUE
    else:
        stage, code = Stage.PROCESS, ErrorCode.PROCESSING_FAILED
    try:
        transaction_id = readable_transaction_id(orjson.loads(event.body))
    except orjson.JSONDecodeError:
        transaction_id = None
    message = f"the event fails when processed alone: {type(error).__name__}: {error}"
    return Rejection(0, stage, code, message, transaction_id)


def _failed_items(events: Sequence[IncomingEvent], rejections: list[Rejection]) -> FailedItemRows:
    sources = [events[rejection.position] for rejection in rejections]
    return FailedItemRows(
        raw_payload=[event.body for event in sources],
        stage=[str(rejection.stage) for rejection in rejections],
        error_code=[str(rejection.error_code) for rejection in rejections],
        error_message=[storable_text(rejection.message) for rejection in rejections],
        sequence_number=[event.sequence_number for event in sources],
        offset=[None if event.offset is None else str(event.offset) for event in sources],
        enqueued_time=[event.enqueued_time for event in sources],
        transaction_id=[rejection.transaction_id for rejection in rejections],
        run_id=[event.run_id() for event in sources],
    )


def _run_totals(
    valid: EventColumns, new_rows: npt.NDArray[np.int64], failed_runs: list[str | None]
) -> RunTotals:
    """Per run: new events, duplicates (valid events not new) and failed items inserted."""
    run = valid.factors["run_id"]
    seen = np.bincount(run.codes, minlength=len(run.values))
    new = np.bincount(run.codes[new_rows], minlength=len(run.values))
    totals: dict[str, list[int]] = {
        str(run_id): [int(new[code]), int(seen[code] - new[code]), 0]
        for code, run_id in enumerate(run.values)
        if seen[code]  # a factor keeps the values of rows taken out (canaries, events below the checkpoint)
    }
    for run_id in failed_runs:
        if run_id is not None:
            totals.setdefault(run_id, [0, 0, 0])[2] += 1
    return RunTotals(
        run_id=list(totals),
        processed=[counts[0] for counts in totals.values()],
        duplicates_dropped=[counts[1] for counts in totals.values()],
        failed=[counts[2] for counts in totals.values()],
    )

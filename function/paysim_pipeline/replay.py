"""Failed items through the processor again: the same stages and sinks, in a transaction the caller shares.

`paysim dlq replay` locks failed items in a `ReplayTransaction`, replays their payloads there and
records each item's outcome in the same transaction: an item is counted and marked replayed, or
neither. The payloads take the processor's path — decode, validate, normalize, dedupe, payment and
dynamic metrics, raw events to Blob before the commit — with two differences. No checkpoint: failed
items have no partition order to keep, and the dedupe table alone makes a repeated replay count once.
No per-run tables (`run_metrics_5m`, `run_totals`): they record what a simulate run delivered, so
`paysim verify` still reconciles the run after an operator's repair (docs/adr/0013).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from paysim_pipeline.canary import CanaryRows, split_canaries
from paysim_pipeline.config import PipelineConfig
from paysim_pipeline.events import IncomingEvent
from paysim_pipeline.processor import BatchProcessor, PreparedBatch
from paysim_pipeline.rejection import Rejection
from paysim_pipeline.sinks.blob import RawEventArchive
from paysim_pipeline.sinks.postgres import BatchTransaction, BigintArray, Connection, Database, PostgresSink

if TYPE_CHECKING:
    import numpy.typing as npt

    from paysim_pipeline.normalize import EventColumns

# The partition id replayed events carry in the raw archive's envelopes; their sequence number there
# is the failed item's id.
REPLAY_PARTITION = "$dlq"

# The positions (1-based) of the events whose (transaction_id, event day) the dedupe table holds.
ALREADY_PROCESSED = """
SELECT coalesce(array_agg(b.position), '{}')
FROM unnest(%s::uuid[], %s::bigint[]) WITH ORDINALITY AS b (transaction_id, day_number, position)
WHERE EXISTS (
    SELECT 1 FROM processed_transactions AS p
    WHERE p.transaction_id = b.transaction_id
      AND p.event_day = date '1970-01-01' + b.day_number::integer
)"""


def replay_blob_name(eventhub: str, operation_id: str, first_item_id: int, last_item_id: int) -> str:
    """Where one replay batch's raw events go: apart from the partitions' sequence ranges."""
    return f"{eventhub}/$replays/{operation_id}/{first_item_id:020d}-{last_item_id:020d}.ndjson.gz"


class ReplayOutcome(StrEnum):
    PROCESSED = "processed"  # valid, seen for the first time: now in the metrics
    DUPLICATE = "duplicate"  # valid, but its transaction id was already processed: counted once
    FAILED = "failed"  # refused again, with the new rejection


_NO_PROPERTIES: Mapping[str, object] = MappingProxyType({})


class ReplayEvent(NamedTuple):
    """A failed item's payload to replay; `properties` go into its raw-archive envelope. (Named tuples,
    as ReplayResult: one of each per item, built in a third of the time of a frozen dataclass.)"""

    item_id: int
    body: bytes
    properties: Mapping[str, object] = _NO_PROPERTIES


class ReplayResult(NamedTuple):
    item_id: int
    outcome: ReplayOutcome
    rejection: Rejection | None = None  # why it failed again


class EventReplayer:
    """Replays failed items' payloads with the processor's stages, on one connection of its own."""

    def __init__(self, config: PipelineConfig, *, archive: RawEventArchive | None = None) -> None:
        self.config = config
        self._processor = BatchProcessor(config, archive=archive)
        self._database = Database(config.database_url, config.database_auth)
        # Dedupe partitions are created in short transactions of their own (see PostgresSink), never in
        # the replay's: a second connection.
        self._partitions = PostgresSink(self._database)
        self._connection: Connection | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._partitions.close()
        self._processor.close()

    @contextmanager
    def transaction(self) -> Iterator[ReplayTransaction]:
        """A transaction to lock items, replay them and record their outcomes in: committed when the
        block ends, rolled back if it raises."""
        connection = self._connect()
        with connection.transaction():
            yield ReplayTransaction(self, connection)

    def _connect(self) -> Connection:
        if self._connection is None or self._connection.closed or self._connection.broken:
            self._connection = self._database.connect()
        return self._connection

    def check(
        self, events: Sequence[ReplayEvent], claimed: set[tuple[str, int]] | None = None
    ) -> list[ReplayResult]:
        """A dry run: what replaying `events` would do. Runs the pure stages and reads the dedupe
        table in a read-only transaction; writes nothing. `claimed` carries the (transaction id, day)
        keys earlier checks of the same run would have processed."""
        incoming = _incoming(events)
        prepared = self._processor.prepare(incoming)
        valid, canaries = split_canaries(prepared.events, incoming)
        known = self._already_processed(valid)
        claimed = set() if claimed is None else claimed
        new_rows = []
        for row, key in enumerate(zip(valid.transaction_ids, valid.event_days.tolist(), strict=True)):
            if row not in known and key not in claimed:
                claimed.add(key)
                new_rows.append(row)
        return _results(
            events, prepared, _processed(events, valid, np.array(new_rows, dtype=np.int64), canaries)
        )

    def _already_processed(self, valid: EventColumns) -> set[int]:
        if not len(valid):
            return set()
        connection = self._connect()
        with connection.transaction():
            connection.execute("SET TRANSACTION READ ONLY")
            ids = "{" + ",".join(valid.transaction_ids) + "}"
            row = connection.execute(ALREADY_PROCESSED, (ids, BigintArray(valid.event_days))).fetchone()
        return {position - 1 for position in (row[0] if row is not None else [])}


class ReplayTransaction:
    """One replay batch's transaction; `connection` runs the caller's own statements in it."""

    def __init__(self, replayer: EventReplayer, connection: Connection) -> None:
        self._replayer = replayer
        self.connection = connection

    def replay(self, events: Sequence[ReplayEvent], blob_name: str) -> list[ReplayResult]:
        """Process `events` in this transaction; their raw events are in blob `blob_name` on return."""
        replayer = self._replayer
        processor = replayer._processor
        incoming = _incoming(events)
        prepared = processor.prepare(incoming)
        replayer._partitions.ensure_dedupe_partitions(prepared.events.event_days)
        archived = processor.archive_raw_events(blob_name, incoming, REPLAY_PARTITION, prepared.rejections)
        transaction = BatchTransaction(self.connection)
        # A health canary goes where the pipeline puts it (canary_payments), never into a metric.
        valid, canaries = split_canaries(prepared.events, incoming)
        if canaries is not None:
            transaction.record_canaries(REPLAY_PARTITION, canaries)
        new_rows, _ = processor.aggregate_new_payments(transaction, valid)
        archived.result()  # the raw events are stored before the caller commits, or the batch fails
        return _results(events, prepared, _processed(events, valid, new_rows, canaries))


def _incoming(events: Sequence[ReplayEvent]) -> list[IncomingEvent]:
    return [
        IncomingEvent(body=event.body, sequence_number=event.item_id, properties=event.properties)
        for event in events
    ]


def _processed(
    events: Sequence[ReplayEvent],
    valid: EventColumns,
    new_rows: npt.NDArray[np.int64],
    canaries: CanaryRows | None,
) -> set[int]:
    """The positions that were processed: the new payments, and the canaries (recorded as such)."""
    processed = set(valid.positions[new_rows].tolist())
    if canaries is not None:
        canary_items = set(canaries.sequence_number)  # a replayed event's sequence number is its item id
        processed.update(position for position, event in enumerate(events) if event.item_id in canary_items)
    return processed


def _results(
    events: Sequence[ReplayEvent], prepared: PreparedBatch, processed: set[int]
) -> list[ReplayResult]:
    """Each event's outcome: processed, else valid but already counted (a duplicate), else refused."""
    outcomes: dict[int, ReplayResult] = {}
    for position in prepared.events.positions.tolist():
        outcome = ReplayOutcome.PROCESSED if position in processed else ReplayOutcome.DUPLICATE
        outcomes[position] = ReplayResult(events[position].item_id, outcome)
    for rejection in prepared.rejections:
        outcomes[rejection.position] = ReplayResult(
            events[rejection.position].item_id, ReplayOutcome.FAILED, rejection
        )
    return [outcomes[position] for position in range(len(events))]

"""Canary payments: valid events `paysim health --probe` sends to time the pipeline end to end.

A canary is an ordinary, schema-valid payment whose `run_id` starts with CANARY_RUN_PREFIX. It goes
through decode and validation like any event, then, instead of the aggregates, the dedupe table and
the run tables, it is recorded in `canary_payments` in the same transaction as the batch's checkpoint.
So no business metric, dynamic metric or reconciliation ever counts it, and its commit proves the
whole path worked. The marker is in the body (not only in a property) so it survives the raw archive
and a dead-letter replay.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from paysim_pipeline.events import IncomingEvent
from paysim_pipeline.normalize import EventColumns

CANARY_RUN_PREFIX = "paysim-canary:"


def is_canary_run(run_id: Hashable) -> bool:
    return isinstance(run_id, str) and run_id.startswith(CANARY_RUN_PREFIX)


@dataclass(frozen=True, slots=True)
class CanaryRows:
    """The canaries of one batch, for `canary_payments`."""

    transaction_id: list[str]
    run_id: list[str]
    sequence_number: list[int]
    event_ms: list[int]
    enqueued_time: list[datetime | None]


def split_canaries(
    columns: EventColumns, events: Sequence[IncomingEvent]
) -> tuple[EventColumns, CanaryRows | None]:
    """The batch's business events, and its canaries (None when it has none, the usual case)."""
    run = columns.factors["run_id"]
    # A batch holds a handful of distinct run ids: the check costs nothing per event.
    canary_codes = [code for code, run_id in enumerate(run.values) if is_canary_run(run_id)]
    if not canary_codes:
        return columns, None
    is_canary = np.isin(run.codes, canary_codes)
    canaries = columns.take(is_canary.nonzero()[0])
    sources = [events[position] for position in canaries.positions.tolist()]
    rows = CanaryRows(
        transaction_id=list(canaries.transaction_ids),
        run_id=[str(label) for label in canaries.factors["run_id"].labels()],
        sequence_number=[event.sequence_number for event in sources],
        event_ms=canaries.event_ms.tolist(),
        enqueued_time=[event.enqueued_time for event in sources],
    )
    return columns.take((~is_canary).nonzero()[0]), rows

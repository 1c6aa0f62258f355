"""The manifest counts what the pipeline counts: valid events per window and dimensions, the rest apart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from paysim_cli.runs.manifest import ManifestCounts, build_manifest
from paysim_cli.simulator.generator import EventBlock, EventKind

ProfileFile = Callable[..., Path]
WINDOW_MS = 300_000


def _block(event_ms: list[int], kind: list[int], source: list[int] | None = None) -> EventBlock:
    size = len(event_ms)
    codes = np.zeros(size, dtype=np.int64)
    return EventBlock(
        first_index=0,
        intended=np.zeros(size),
        bodies=[b"{}"] * size,
        partition_keys=[None] * size,
        event_ms=np.array(event_ms, dtype=np.int64),
        payment_type=codes,
        currency=codes,
        mcc=np.full(size, 5411),
        channel=codes,
        status=codes,
        amount_minor=np.arange(1, size + 1, dtype=np.int64) * 100,
        fraud=codes,
        kind=np.array(kind, dtype=np.int64),
        malformed_kind=np.where(np.array(kind) == EventKind.MALFORMED, 2, -1),
        source=np.array(source if source is not None else range(size), dtype=np.int64),
        delivered=np.zeros(size, dtype=bool),
    )


def test_windows_duplicates_malformed_and_late_events() -> None:
    valid, malformed, duplicate = EventKind.VALID, EventKind.MALFORMED, EventKind.DUPLICATE
    block = _block(
        [0, 1000, WINDOW_MS + 5, 2000, 2000, WINDOW_MS + 6],
        [valid, valid, valid, valid, malformed, duplicate],
        source=[0, 1, 2, 3, 4, 1],
    )
    counts = ManifestCounts()
    counts.add_delivered(block, 0, 3)
    counts.add_delivered(block, 3, 6)  # the late event (2000 after 300005) is in another chunk
    manifest = build_manifest(
        counts,
        run_id="r",
        profile={"name": "p", "path": "p.yaml", "sha256": "0"},
        seed=1,
        workers=1,
        target="file",
        partition_key_field="customer.id",
        event_time_origin="2025-11-28T00:00:00Z",
        started_at="2025-11-28T00:00:00Z",
        finished_at="2025-11-28T00:00:01Z",
    )
    assert [
        (cell.window_start.isoformat(), cell.count, cell.amount_minor_sum) for cell in manifest.windows
    ] == [
        ("1970-01-01T00:00:00+00:00", 3, 100 + 200 + 400),
        ("1970-01-01T00:05:00+00:00", 1, 300),
    ]
    cell = manifest.windows[0]
    assert (cell.payment_type, cell.currency, cell.mcc, cell.channel, cell.status) == (
        "card",
        "AUD",
        "5411",
        "pos",
        "approved",
    )
    totals = manifest.totals
    assert (totals.delivered, totals.valid, totals.malformed, totals.duplicates) == (6, 4, 1, 1)
    assert totals.malformed_by_kind == {"wrong_type": 1}
    assert totals.out_of_order == 1
    assert totals.amount_minor_by_currency == {"AUD": 1000}


def test_a_duplicate_of_an_undelivered_event_is_the_first_copy() -> None:
    block = _block(
        [0, 1, 2, 3],
        [EventKind.VALID, EventKind.DUPLICATE, EventKind.DUPLICATE, EventKind.VALID],
        [0, 0, 0, 3],
    )
    counts = ManifestCounts()
    counts.add_undelivered(1)  # event 0 never arrived
    counts.add_delivered(block, 1, 4)
    assert (counts.valid, counts.duplicates, counts.undelivered) == (2, 1, 1)


def test_workers_counts_add_up() -> None:
    first, second = ManifestCounts(), ManifestCounts()
    first.add_delivered(_block([0, 10], [EventKind.VALID, EventKind.MALFORMED]), 0, 2)
    second.add_delivered(_block([5], [EventKind.VALID]), 0, 1)
    second.add_undelivered(3)
    first.merge(second)
    assert first.cells == {(0, 0, 0, 5411, 0, 0): [2, 200]}
    assert (first.valid, sum(first.malformed.values()), first.undelivered) == (2, 1, 3)

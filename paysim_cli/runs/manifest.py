"""The run manifest: what a run delivered, counted the way the pipeline must count it, for reconciliation.

Valid events count once, in the 5-minute window of their event_time (out-of-order ones too), per
payment type, currency, MCC, channel and status. A duplicate (an already delivered transaction_id, same
bytes) is dropped by the pipeline's dedupe; a malformed event becomes a failed item. Neither is in the
windows. Only acknowledged events count; the rest are in the undelivered file.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from paysim_cli.simulator.contract import SCHEMA_VERSION, allowed_values, currency_codes
from paysim_cli.simulator.generator import EventBlock, EventKind, MalformedKind

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

WINDOW_SECONDS = 300
MANIFEST_VERSION = 1
MCC_CODES = 10_000

# (window start in epoch seconds, payment type, currency, mcc, channel, status) codes
CellKey = tuple[int, int, int, int, int, int]


@dataclass
class ManifestCounts:
    """Counts of delivered events, added chunk by chunk in send order; workers' counts add up."""

    cells: dict[CellKey, list[int]] = field(default_factory=dict)  # key -> [count, amount_minor sum]
    valid: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    undelivered: int = 0
    malformed: Counter[int] = field(default_factory=Counter)
    fraud: Counter[int] = field(default_factory=Counter)
    latest_event_ms: int | None = None  # of this worker's delivered valid events, for out-of-order

    def add_delivered(self, block: EventBlock, start: int, stop: int) -> None:
        """Events [start, stop) of `block` were acknowledged by the target."""
        import numpy as np

        kind = block.kind[start:stop]
        counted = kind == EventKind.VALID
        block.delivered[start:stop] |= counted
        for position in np.flatnonzero(kind == EventKind.DUPLICATE) + start:
            original = int(block.source[position])
            if block.delivered[original]:
                self.duplicates += 1
            else:  # its original was never delivered: this copy is the one the pipeline will see first
                block.delivered[original] = True
                counted[position - start] = True
        self.malformed.update(block.malformed_kind[start:stop][kind == EventKind.MALFORMED].tolist())
        self._count_valid(block, np.flatnonzero(counted) + start)

    def _count_valid(self, block: EventBlock, positions: npt.NDArray[np.int64]) -> None:
        import numpy as np

        if positions.size == 0:
            return
        event_ms = block.event_ms[positions]
        running = np.maximum.accumulate(event_ms)
        previous = self.latest_event_ms if self.latest_event_ms is not None else int(event_ms[0])
        self.out_of_order += int(np.count_nonzero(event_ms < np.concatenate(([previous], running[:-1]))))
        self.latest_event_ms = max(int(running[-1]), previous)
        self.valid += int(positions.size)
        self.fraud.update(block.fraud[positions][block.fraud[positions] > 0].tolist())

        windows = event_ms // (WINDOW_SECONDS * 1000)
        first_window = int(windows.min())
        dimensions = (
            windows - first_window,
            block.payment_type[positions],
            block.currency[positions],
            block.mcc[positions],
            block.channel[positions],
            block.status[positions],
        )
        shape = (
            int(windows.max()) - first_window + 1,
            len(allowed_values("payment_type")),
            len(currency_codes()),
            MCC_CODES,
            len(allowed_values("channel")),
            len(allowed_values("status")),
        )
        cell_ids, inverse = np.unique(np.ravel_multi_index(dimensions, shape), return_inverse=True)
        counts = np.bincount(inverse)
        sums = np.zeros(cell_ids.size, dtype=np.int64)
        np.add.at(sums, inverse, block.amount_minor[positions])
        for cell_id, count, amount in zip(cell_ids.tolist(), counts.tolist(), sums.tolist(), strict=True):
            window, payment_type, currency, mcc, channel, status = (
                int(code) for code in np.unravel_index(cell_id, shape)
            )
            key = ((first_window + window) * WINDOW_SECONDS, payment_type, currency, mcc, channel, status)
            cell = self.cells.setdefault(key, [0, 0])
            cell[0] += count
            cell[1] += amount

    def add_undelivered(self, count: int) -> None:
        self.undelivered += count

    def merge(self, other: ManifestCounts) -> None:
        for key, (count, amount) in other.cells.items():
            cell = self.cells.setdefault(key, [0, 0])
            cell[0] += count
            cell[1] += amount
        self.valid += other.valid
        self.duplicates += other.duplicates
        self.out_of_order += other.out_of_order
        self.undelivered += other.undelivered
        self.malformed.update(other.malformed)
        self.fraud.update(other.fraud)


class WindowCell(BaseModel):
    window_start: datetime
    payment_type: str
    currency: str
    mcc: str
    channel: str
    status: str
    count: int
    amount_minor_sum: int


class ManifestTotals(BaseModel):
    delivered: int  # every acknowledged event: valid + malformed + duplicates
    valid: int
    malformed: int
    malformed_by_kind: dict[str, int]
    duplicates: int
    out_of_order: int
    undelivered: int
    fraud: dict[str, int]
    amount_minor_by_currency: dict[str, int]


class ProfileReference(BaseModel):
    name: str
    path: Path
    sha256: str


class RunManifest(BaseModel):
    manifest_version: int = MANIFEST_VERSION
    schema_version: int = SCHEMA_VERSION
    run_id: str
    profile: ProfileReference
    seed: int
    workers: int
    target: str
    partition_key_field: str
    event_time_origin: datetime
    started_at: datetime
    finished_at: datetime
    window_seconds: int = WINDOW_SECONDS
    totals: ManifestTotals
    windows: list[WindowCell]
    undelivered_file: Path | None = None
    output_file: Path | None = None
    # Workers whose process failed mid-run: what they published is not counted here.
    failed_workers: list[int] = []


def profile_reference(name: str, path: Path) -> ProfileReference:
    return ProfileReference(name=name, path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def build_manifest(counts: ManifestCounts, **fields: object) -> RunManifest:
    """The manifest of `counts`, with the run's identity given as `fields`."""
    payment_types, currencies = allowed_values("payment_type"), currency_codes()
    channels, statuses = allowed_values("channel"), allowed_values("status")
    scenarios = allowed_values("fraud_scenario")
    windows = [
        WindowCell(
            window_start=datetime.fromtimestamp(window, UTC),
            payment_type=payment_types[payment_type],
            currency=currencies[currency],
            mcc=f"{mcc:04d}",
            channel=channels[channel],
            status=statuses[status],
            count=count,
            amount_minor_sum=amount,
        )
        for (window, payment_type, currency, mcc, channel, status), (count, amount) in sorted(
            counts.cells.items()
        )
    ]
    by_currency: Counter[str] = Counter()
    for cell in windows:
        by_currency[cell.currency] += cell.amount_minor_sum
    malformed = sum(counts.malformed.values())
    totals = ManifestTotals(
        delivered=counts.valid + malformed + counts.duplicates,
        valid=counts.valid,
        malformed=malformed,
        malformed_by_kind={
            MalformedKind(kind).name.lower(): n for kind, n in sorted(counts.malformed.items())
        },
        duplicates=counts.duplicates,
        out_of_order=counts.out_of_order,
        undelivered=counts.undelivered,
        fraud={scenarios[code - 1]: n for code, n in sorted(counts.fraud.items())},
        amount_minor_by_currency=dict(sorted(by_currency.items())),
    )
    return RunManifest.model_validate({**fields, "totals": totals, "windows": windows})


def write_manifest(manifest: RunManifest, path: Path) -> None:
    """Write atomically: a reader never sees half a manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    os.replace(temporary, path)

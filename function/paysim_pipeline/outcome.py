"""What one processed batch committed: the processor returns it, telemetry and the host count it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one processed batch committed (in one transaction, or in several when it was split)."""

    processed: int  # valid events seen for the first time, now in the aggregates
    duplicates_dropped: (
        int  # valid events whose transaction id was already recorded (or repeated in the batch)
    )
    failed: int  # events that became failed items
    skipped_below_checkpoint: int  # events an earlier commit already covered
    committed_at: datetime
    blob_names: tuple[str, ...] = ()  # the raw-event blobs written: none when every event was skipped
    failed_by_code: Mapping[str, int] = field(default_factory=dict)
    canaries: int = 0  # health-probe canaries recorded (never in the counts above)
    isolated: int = 0  # failed items that failed alone after the batch was split (part of `failed`)

    @property
    def blob_name(self) -> str | None:
        """The batch's raw-event blob (the last one when it was split); None when none was written."""
        return self.blob_names[-1] if self.blob_names else None

    def __add__(self, later: BatchOutcome) -> BatchOutcome:
        """Two parts of one batch, committed one after the other."""
        return BatchOutcome(
            processed=self.processed + later.processed,
            duplicates_dropped=self.duplicates_dropped + later.duplicates_dropped,
            failed=self.failed + later.failed,
            skipped_below_checkpoint=self.skipped_below_checkpoint + later.skipped_below_checkpoint,
            committed_at=max(self.committed_at, later.committed_at),
            blob_names=self.blob_names + later.blob_names,
            failed_by_code=Counter(self.failed_by_code) + Counter(later.failed_by_code),
            canaries=self.canaries + later.canaries,
            isolated=self.isolated + later.isolated,
        )

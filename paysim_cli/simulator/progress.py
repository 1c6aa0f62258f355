"""How a run is going: each worker's counters, and the sum of all workers' that the operator sees."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from paysim_cli.latency import LatencyHistogram, LatencySummary


@dataclass
class WorkerProgress:
    """A worker's counters so far."""

    worker: int
    elapsed: float = 0.0
    current_rate: float = 0.0  # what the schedule asks for now
    scheduled: int = 0  # events due so far
    sent: int = 0
    failed: int = 0
    retried: int = 0  # events published again after a transient error
    batches: int = 0
    backlog: int = 0  # events due and not yet published
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)


class RunProgress(BaseModel):
    """All workers together, as the live view shows them."""

    elapsed: float
    target_rate: float
    sent: int
    failed: int
    retried: int
    backlog: int
    latency_ms: LatencySummary


def combine(progresses: Sequence[WorkerProgress]) -> tuple[RunProgress, LatencyHistogram]:
    """The workers' counters added up, and their latencies in one histogram."""
    latency = LatencyHistogram()
    for progress in progresses:
        latency.merge(progress.latency)
    run = RunProgress(
        elapsed=max((progress.elapsed for progress in progresses), default=0.0),
        target_rate=sum(progress.current_rate for progress in progresses),
        sent=sum(progress.sent for progress in progresses),
        failed=sum(progress.failed for progress in progresses),
        retried=sum(progress.retried for progress in progresses),
        backlog=sum(progress.backlog for progress in progresses),
        latency_ms=latency.summary(),
    )
    return run, latency

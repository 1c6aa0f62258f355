"""What `paysim demo` reports: the run from both ends, the older backlog apart, and (with --faults)
each fault with its recovery and the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.faults.campaign import FaultResult
from paysim_cli.hub.targets import HubTarget
from paysim_cli.latency import LatencySummary
from paysim_cli.metrics.show import MetricsReport
from paysim_cli.pipeline.report import HostStatus
from paysim_cli.reconcile.verify import ReconciliationReport

STALL_LIMIT_SECONDS = 30.0


class Backlog(BaseModel):
    """Events older runs left uncommitted in the hub when the demo started: drained before the run,
    so they neither queue ahead of its events nor count in its lag, drain or latency."""

    events: int
    seconds: float  # to drain them
    status: HostStatus | Literal["none"]  # none: there was no backlog
    remaining: int = 0  # still uncommitted when the run started (the drain timed out)


class ArchiveRepair(BaseModel):
    """Blobs Azurite lost when it was killed, re-archived from the hub by `repair_archive`."""

    missing_events: int
    events_archived: int
    complete: bool


class FaultsReport(BaseModel):
    spec: str
    scheduled: int
    faults: list[FaultResult]
    hosts_started: int
    longest_stall_seconds: float  # events waiting and no checkpoint moving
    longest_stall_at: float  # seconds into the run
    stall_limit_seconds: float = STALL_LIMIT_SECONDS
    archive_repair: ArchiveRepair | None = None
    host_logs: Path
    problems: list[str]  # each reason the verdict fails; empty: passed
    passed: bool


class DemoReport(BaseModel):
    """The run from both ends: what was sent, what the pipeline made of it, how fast and how late."""

    run_id: str
    transport: HubTarget
    profile: str
    seed: int
    target_rate: float
    achieved_rate: float  # events/s the simulator delivered
    sent: int
    processed: int
    failed: int
    duplicates_dropped: int
    throughput: float  # events/s the pipeline took in, first batch to last commit
    pipeline: HostStatus
    drain_seconds: float  # from the end of the simulation until every partition was caught up
    max_lag: int  # this run's events not yet committed, at most (the backlog is apart)
    latency_ms: LatencySummary  # intended send time -> commit, this run's events
    latency_events: int  # the events the latency was measured on
    backlog: Backlog
    reconciliation: ReconciliationReport
    top_metrics: MetricsReport
    faults: FaultsReport | None = None
    interrupted_by: str | None = None  # SIGINT or SIGTERM when a signal cut the run short

    def failure(self) -> PaysimError | None:
        """Exit 7 when the run does not reconcile or (with --faults) did not survive its faults."""
        failed = self.reconciliation.failure(self)
        if failed is not None or self.faults is None or self.faults.passed:
            return failed
        return PaysimError(
            "faults_not_survived",
            "the run did not come through its faults: " + "; ".join(self.faults.problems),
            f"the host logs are in {self.faults.host_logs}; `paysim verify {self.run_id}` checks the totals",
            exit_code=ExitCode.VERIFY_FAILED,
            report=self,
        )

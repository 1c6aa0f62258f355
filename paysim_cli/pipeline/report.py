"""What the pipeline host reports: its live progress and its final report (models only, so that the
demo, the live views and the run reports read them without loading the host's process handling)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from paysim_cli.hub.lag import PartitionLag
from paysim_cli.hub.targets import HubTarget
from paysim_cli.latency import LatencySummary
from paysim_cli.pipeline.consumer import PartitionRetry

HostStatus = Literal["drained", "interrupted", "timed_out"]


class RunLatency(BaseModel):
    """End-to-end latency of one simulate run's events: intended send time to the function's return."""

    run_id: str
    events: int
    latency_ms: LatencySummary


class HostProgress(BaseModel):
    """All workers together, as the live view shows them."""

    elapsed: float
    workers_ready: int
    restarts: int = 0  # crashed workers started again
    last_crash: str | None = None
    events: int
    batches: int
    failed_invocations: int
    last_error: str | None
    lag: int
    partitions: list[PartitionLag]
    latency_ms: LatencySummary
    retrying: list[PartitionRetry] = Field(default_factory=list)  # partitions whose batch keeps failing


class PipelineReport(BaseModel):
    """The final report: what was delivered, how fast, how late, and what is left."""

    source: HubTarget
    function: str
    function_dir: Path
    consumer_group: str
    workers: int
    batch_size: int
    status: HostStatus
    elapsed_seconds: float
    events: int
    batches: int
    failed_invocations: int
    last_error: str | None
    throughput: float  # events/s from the first batch received to the last commit
    lag: int
    max_lag: int
    partitions: list[PartitionLag]
    latency_ms: LatencySummary
    runs: list[RunLatency]
    interrupted_by: str | None = None  # SIGINT or SIGTERM when status is interrupted
    retrying: list[PartitionRetry] = Field(default_factory=list)  # still failing when the host stopped
    restarts: int = 0
    last_crash: str | None = None
    hosting: str = ""  # what the host ran when it started: a release, or the working tree
    releases: list[str] = Field(default_factory=list)  # the releases the live workers ran at the end

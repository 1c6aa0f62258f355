"""A run's report: its manifest, its recorders' time series and its reconciliation, as one model that
`paysim runs report` prints as JSON or writes as a self-contained HTML page (runs/html.py).

Every figure comes from the files the run left (docs/reports.md) and, unless told not to, from
`paysim verify` and the failed-items table at report time: the report never keeps numbers of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from paysim_cli.errors import PaysimError
from paysim_cli.latency import LatencyHistogram, LatencySummary
from paysim_cli.reconcile.verify import ReconciliationReport, load_manifest, verify_run
from paysim_cli.runs.catalog import show_run
from paysim_cli.runs.faults import RunFault, read_faults
from paysim_cli.runs.layout import SERIES_DIRECTORY, run_directory
from paysim_cli.runs.manifest import RunManifest
from paysim_cli.runs.recorders import FAILED_ITEM_PREFIX as FAILED
from paysim_cli.runs.recorders import LAG_PREFIX
from paysim_cli.runs.series import TimeSeries, read_series
from paysim_cli.settings import Settings

Verdict = Literal["reconciles", "differs", "not verified"]
QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


class Figures(BaseModel):
    """The run's top metrics, totalled from its series."""

    intended: int  # events the schedule said were due
    sent: int  # acknowledged by the target
    failed: int  # given up after retries (the undelivered file)
    malformed_sent: int
    duplicates_sent: int
    peak_target_rate: float  # events/s, all workers
    achieved_rate: float  # sent over the seconds from the first to the last acknowledgement
    publish_latency_ms: LatencySummary | None
    processed: int | None  # events of the run the local host's function returned for (every kind)
    end_to_end_latency_ms: LatencySummary | None
    max_lag: int | None  # all partitions together, as the host saw it
    failed_items: int  # the run's failed items, every code (`failed_item_codes` added up)
    # From the end of sending (the manifest's finish) to the pipeline's last commit of the run: verify's
    # last commit; without a reconciliation, the end of the last second the local host processed any.
    drain_seconds: float | None


class Timeline(BaseModel):
    """One entry per second (UTC), from the run's first recorded second to its last."""

    time: list[datetime]
    target_rate: list[float | None]
    intended: list[int]
    sent: list[int]
    failed: list[int]
    malformed_sent: list[int]
    duplicates_sent: list[int]
    processed: list[int]
    publish_latency_ms: dict[str, list[float | None]]  # p50, p95, p99 of the events acknowledged then
    end_to_end_latency_ms: dict[str, list[float | None]]  # of the events the function returned then
    lag: dict[str, list[int | None]]  # per partition id
    failed_items: dict[str, list[int]]  # per error code, by when the pipeline recorded them (the host's)


class RunReport(BaseModel):
    run_id: str
    profile: str
    seed: int
    target: str
    workers: int
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    verdict: Verdict
    figures: Figures
    timeline: Timeline
    reconciliation: ReconciliationReport | None  # None with --no-verify or when verify could not run
    reconciliation_error: str | None = None  # why it could not
    failed_item_codes: dict[str, int]
    faults: list[RunFault] = []  # a `demo --faults` run's, marked on the timeline
    series_files: list[Path]


def build_report(
    settings: Settings,
    run_id: str,
    *,
    verify: bool = True,
    reconciliation: ReconciliationReport | None = None,
) -> RunReport:
    """The report of run `run_id`, with the `reconciliation` given (the demo's), else with `verify` one
    made now (as `paysim verify` does), else the last recorded verdict."""
    _, manifest = load_manifest(settings, run_id)
    files = sorted((run_directory(settings, run_id) / SERIES_DIRECTORY).glob("*.json"))
    simulate = read_series(path for path in files if path.name.startswith("simulate-"))
    pipeline = read_series(path for path in files if path.name.startswith("pipeline-"))
    error = None
    if reconciliation is None and verify:
        reconciliation, error = _reconcile(settings, run_id)
    codes = (
        reconciliation.failed_item_codes if reconciliation is not None else _recorded_codes(settings, run_id)
    )
    return RunReport(
        run_id=run_id,
        profile=manifest.profile.name,
        seed=manifest.seed,
        target=manifest.target,
        workers=manifest.workers,
        started_at=manifest.started_at,
        finished_at=manifest.finished_at,
        duration_seconds=round((manifest.finished_at - manifest.started_at).total_seconds(), 3),
        verdict=_verdict(settings, run_id, reconciliation),
        figures=_figures(simulate, pipeline, codes, _drain_seconds(manifest, pipeline, reconciliation)),
        timeline=_timeline(manifest, simulate, pipeline),
        reconciliation=reconciliation,
        reconciliation_error=error,
        failed_item_codes=codes,
        faults=read_faults(settings, run_id),
        series_files=files,
    )


def _drain_seconds(
    manifest: RunManifest, pipeline: TimeSeries, reconciliation: ReconciliationReport | None
) -> float | None:
    if reconciliation is not None and reconciliation.last_commit_at is not None:
        last = reconciliation.last_commit_at.timestamp()
    else:
        processing = [second for second, entry in pipeline.seconds.items() if entry.counters.get("processed")]
        if not processing:
            return None
        last = max(processing) + 1.0
    return round(max(0.0, last - manifest.finished_at.timestamp()), 3)


def _reconcile(settings: Settings, run_id: str) -> tuple[ReconciliationReport | None, str | None]:
    """`paysim verify`'s report, or the error when the database says no."""
    try:
        return verify_run(settings, run_id), None
    except PaysimError as error:
        return None, f"{error.code}: {error.message}"


def _recorded_codes(settings: Settings, run_id: str) -> dict[str, int]:
    verification = show_run(settings, run_id).verification
    return verification.failed_item_codes if verification is not None else {}


def _verdict(settings: Settings, run_id: str, reconciliation: ReconciliationReport | None) -> Verdict:
    """Now's reconciliation, else the last recorded one (`paysim verify` or the demo)."""
    if reconciliation is not None:
        return "reconciles" if reconciliation.passed else "differs"
    verification = show_run(settings, run_id).verification
    if verification is None:
        return "not verified"
    return "reconciles" if verification.passed else "differs"


def _figures(
    simulate: TimeSeries, pipeline: TimeSeries, codes: dict[str, int], drain_seconds: float | None
) -> Figures:
    sent = int(simulate.counter("sent"))
    acknowledged = [second for second, entry in simulate.seconds.items() if entry.counters.get("sent")]
    span = max(acknowledged) - min(acknowledged) + 1 if acknowledged else 0
    publish, end_to_end = simulate.total_histogram("publish"), pipeline.total_histogram("e2e")
    lags = [_total_lag(entry.gauges) for entry in pipeline.seconds.values()]
    return Figures(
        intended=int(simulate.counter("intended")),
        sent=sent,
        failed=int(simulate.counter("failed")),
        malformed_sent=int(simulate.counter("malformed")),
        duplicates_sent=int(simulate.counter("duplicates")),
        peak_target_rate=max(simulate.counter_values("target_rate"), default=0.0),
        achieved_rate=round(sent / span, 1) if span else 0.0,
        publish_latency_ms=publish.summary() if publish.total else None,
        processed=int(pipeline.counter("processed")) if pipeline.seconds else None,
        end_to_end_latency_ms=end_to_end.summary() if end_to_end.total else None,
        max_lag=max((lag for lag in lags if lag is not None), default=None),
        failed_items=sum(codes.values()),
        drain_seconds=drain_seconds,
    )


def _total_lag(gauges: dict[str, float]) -> int | None:
    lags = [value for name, value in gauges.items() if name.startswith(LAG_PREFIX)]
    return int(sum(lags)) if lags else None


def _timeline(manifest: RunManifest, simulate: TimeSeries, pipeline: TimeSeries) -> Timeline:
    recorded = [*simulate.seconds, *pipeline.seconds]
    first = min(recorded, default=int(manifest.started_at.timestamp()))
    last = max(recorded, default=int(manifest.finished_at.timestamp()))
    seconds = range(first, last + 1)
    empty = TimeSeries()

    def counter(series: TimeSeries, name: str) -> list[int]:
        return [int(series.seconds.get(t, empty.at(t)).counters.get(name, 0)) for t in seconds]

    partitions = sorted({name for e in pipeline.seconds.values() for name in e.gauges}, key=_partition_order)
    codes = sorted(
        {name for e in pipeline.seconds.values() for name in e.counters if name.startswith(FAILED)}
    )
    return Timeline(
        time=[datetime.fromtimestamp(t, UTC) for t in seconds],
        target_rate=[_target(simulate, t) for t in seconds],
        intended=counter(simulate, "intended"),
        sent=counter(simulate, "sent"),
        failed=counter(simulate, "failed"),
        malformed_sent=counter(simulate, "malformed"),
        duplicates_sent=counter(simulate, "duplicates"),
        processed=counter(pipeline, "processed"),
        publish_latency_ms=_percentiles(simulate, "publish", seconds),
        end_to_end_latency_ms=_percentiles(pipeline, "e2e", seconds),
        lag={
            name.removeprefix(LAG_PREFIX): [_gauge(pipeline, t, name) for t in seconds] for name in partitions
        },
        failed_items={code.removeprefix(FAILED): counter(pipeline, code) for code in codes},
    )


def _partition_order(name: str) -> tuple[int, str]:
    suffix = name.removeprefix(LAG_PREFIX)
    return (int(suffix), "") if suffix.isdigit() else (1 << 30, suffix)


def _target(series: TimeSeries, second: int) -> float | None:
    entry = series.seconds.get(second)
    return entry.counters.get("target_rate") if entry is not None else None


def _gauge(series: TimeSeries, second: int, name: str) -> int | None:
    entry = series.seconds.get(second)
    value = entry.gauges.get(name) if entry is not None else None
    return int(value) if value is not None else None


def _percentiles(series: TimeSeries, name: str, seconds: range) -> dict[str, list[float | None]]:
    histograms: list[LatencyHistogram | None] = [
        entry.histograms.get(name) if (entry := series.seconds.get(t)) is not None else None for t in seconds
    ]
    return {
        label: [h.percentile_ms(q) if h is not None and h.total else None for h in histograms]
        for label, q in QUANTILES.items()
    }

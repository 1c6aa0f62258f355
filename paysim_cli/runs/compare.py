"""`paysim runs compare A B`: two runs' reports side by side, the before/after of a tuning change or
a release. Each delta is B against A, with the direction that is better for the measure: the numbers
are the two runs' own reports (`paysim runs report --json`), never recomputed here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.runs.layout import SERIES_DIRECTORY, run_directory
from paysim_cli.runs.report import Figures, RunReport, Verdict, build_report
from paysim_cli.settings import Settings

Better = Literal["higher", "lower"]
Outcome = Literal["better", "worse", "same", "not comparable"]
VERDICT_RANK: dict[Verdict, int | None] = {"reconciles": 1, "differs": 0, "not verified": None}
Measure = Callable[[Figures], float | None]  # one measure of a run, from its report's figures


class ComparedRun(BaseModel):
    """One side of the comparison: which run, and what it was asked to do."""

    side: Literal["A", "B"]
    run_id: str
    profile: str
    seed: int
    target: str
    workers: int
    started_at: datetime
    duration_seconds: float
    peak_target_rate: float
    sent: int
    verdict: Verdict


class Delta(BaseModel):
    """One measure of both runs: B's change from A, and whether that is for the better."""

    measure: str
    unit: str
    a: float | None  # None: the run has no such figure (no host series, no reconciliation)
    b: float | None
    change: float | None  # b - a
    relative: float | None  # (b - a) / a; None when a is 0 or a figure is missing
    better: Better  # which way is better
    outcome: Outcome


class VerdictChange(BaseModel):
    a: Verdict
    b: Verdict
    outcome: Outcome


class RunComparison(BaseModel):
    a: ComparedRun
    b: ComparedRun
    deltas: list[Delta]
    verdict: VerdictChange
    page: Path | None = None  # the HTML page, when one was written


def _latency(latency: Literal["publish", "end_to_end"], quantile: Literal["p50", "p95", "p99"]) -> Measure:
    def figure(figures: Figures) -> float | None:
        summary = figures.publish_latency_ms if latency == "publish" else figures.end_to_end_latency_ms
        return None if summary is None else float(getattr(summary, quantile))

    return figure


# The measures compared, in table order: (name, unit, the better direction, the run's figure).
MEASURES: list[tuple[str, str, Better, Measure]] = [
    ("achieved rate", "events/s", "higher", lambda f: f.achieved_rate),
    ("publish latency p50", "ms", "lower", _latency("publish", "p50")),
    ("publish latency p95", "ms", "lower", _latency("publish", "p95")),
    ("publish latency p99", "ms", "lower", _latency("publish", "p99")),
    ("end-to-end latency p50", "ms", "lower", _latency("end_to_end", "p50")),
    ("end-to-end latency p95", "ms", "lower", _latency("end_to_end", "p95")),
    ("end-to-end latency p99", "ms", "lower", _latency("end_to_end", "p99")),
    ("failed items", "items", "lower", lambda f: f.failed_items),
    ("duplicates sent", "events", "lower", lambda f: f.duplicates_sent),
    ("undelivered", "events", "lower", lambda f: f.failed),
    ("max lag", "events", "lower", lambda f: f.max_lag),
    ("drain time", "s", "lower", lambda f: f.drain_seconds),
]


def compare_runs(
    settings: Settings, run_a: str, run_b: str, *, verify: bool
) -> tuple[RunComparison, RunReport, RunReport]:
    """The comparison of B with A, and the two reports it was made from. Both runs are checked before
    either is reconciled, so a mistyped id fails at once."""
    if run_a == run_b:
        raise PaysimError(
            "same_run",
            f"runs compare: A and B are both run {run_a!r}",
            "compare two different runs: `paysim runs list` shows them",
            exit_code=ExitCode.USAGE,
        )
    for run_id in (run_a, run_b):
        _require_series(settings, run_id)
    a, b = (build_report(settings, run_id, verify=verify) for run_id in (run_a, run_b))
    comparison = RunComparison(
        a=_side("A", a),
        b=_side("B", b),
        deltas=[
            _delta(name, unit, better, figure(a.figures), figure(b.figures))
            for name, unit, better, figure in MEASURES
        ],
        verdict=VerdictChange(a=a.verdict, b=b.verdict, outcome=_verdict_outcome(a.verdict, b.verdict)),
    )
    return comparison, a, b


def _require_series(settings: Settings, run_id: str) -> None:
    """The run exists (`run_not_found` else) and recorded a time series: there is nothing to chart
    of a run that has none (recorded before paysim kept series, or its workers were killed)."""
    from paysim_cli.reconcile.verify import load_manifest

    load_manifest(settings, run_id)
    series = run_directory(settings, run_id) / SERIES_DIRECTORY
    if not any(series.glob("*.json")):
        raise PaysimError(
            "run_has_no_series",
            f"run {run_id} has no time series in {series}: there is nothing to compare it by",
            f"`paysim runs show {run_id}` lists its files; rerun it to record one",
            exit_code=ExitCode.CONFIG,
        )


def _side(side: Literal["A", "B"], report: RunReport) -> ComparedRun:
    return ComparedRun(
        side=side,
        run_id=report.run_id,
        profile=report.profile,
        seed=report.seed,
        target=report.target,
        workers=report.workers,
        started_at=report.started_at,
        duration_seconds=report.duration_seconds,
        peak_target_rate=report.figures.peak_target_rate,
        sent=report.figures.sent,
        verdict=report.verdict,
    )


def _delta(measure: str, unit: str, better: Better, a: float | None, b: float | None) -> Delta:
    change = None if a is None or b is None else round(b - a, 6)
    relative = None if change is None or not a else round(change / a, 6)
    if change is None:
        outcome: Outcome = "not comparable"
    elif change == 0:
        outcome = "same"
    else:
        outcome = "better" if (change > 0) == (better == "higher") else "worse"
    return Delta(
        measure=measure, unit=unit, a=a, b=b, change=change, relative=relative, better=better, outcome=outcome
    )


def _verdict_outcome(a: Verdict, b: Verdict) -> Outcome:
    """Reconciling beats differing; a run not verified cannot be ranked."""
    rank_a, rank_b = VERDICT_RANK[a], VERDICT_RANK[b]
    if rank_a is None or rank_b is None:
        return "not comparable"
    return "same" if rank_a == rank_b else "better" if rank_b > rank_a else "worse"


def delta_label(delta: Delta) -> str:
    return delta.measure if delta.unit == "items" else f"{delta.measure} ({delta.unit})"


def format_value(value: float | None, unit: str) -> str:
    """A figure as both pages and the terminal show it."""
    if value is None:
        return "none"
    if unit in ("events", "items"):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if unit == "s" else f"{value:,.1f}"


def format_change(delta: Delta) -> tuple[str, str]:
    """The absolute change (signed, in the measure's unit) and the relative one."""
    if delta.change is None:
        return "", ""
    sign = "+" if delta.change > 0 else ""
    relative = f"{delta.relative:+.1%}" if delta.relative is not None else ""
    return f"{sign}{format_value(delta.change, delta.unit)}", relative

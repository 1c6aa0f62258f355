"""A run report as one self-contained HTML page (runs/page.py): the run's header and verdict, its
charts over time (with a `demo --faults` run's faults marked), the reconciliation and the failed items.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paysim_cli.output import plural
from paysim_cli.reconcile.verify import ReconciliationReport
from paysim_cli.runs.faults import RunFault
from paysim_cli.runs.page import (
    PERCENTILE_COLOURS,
    FaultMark,
    Figure,
    bar,
    chart,
    chart_elements,
    line,
    mark_faults,
    render_page,
    table,
    write_page,
)
from paysim_cli.runs.report import RunReport, build_report
from paysim_cli.settings import Settings

VERDICT_TEXT = {
    "reconciles": "reconciles exactly",
    "differs": "does NOT reconcile",
    "not verified": "not verified",
}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def write_html(report: RunReport, path: Path) -> Path:
    """Write the page atomically; the path written."""
    return write_page(render_html(report), path)


def render_html(report: RunReport) -> str:
    figures = figures_of(report)
    sections = [
        _header(report),
        table("Top metrics", ["measure", "value"], _metric_rows(report)),
        *chart_elements(figures),
        *([faults_table(report)] if report.faults else []),
        _reconciliation(report),
        table("Failed items by code", ["error code", "items"], _code_rows(report)),
    ]
    return render_page(f"paysim run {report.run_id}", sections, figures, "paysim runs report")


# Each chart of a run, in page order: its element id, title and unit.
CHARTS = {
    "chart-rate": ("Rate: target vs achieved (events/s)", "events/s"),
    "chart-publish-latency": ("Publish latency: intended send to acknowledgement (ms)", "ms"),
    "chart-e2e-latency": ("End-to-end latency: intended send to the function's return (ms)", "ms"),
    "chart-lag": ("Lag per partition (events)", "events"),
    "chart-failures": ("Failures and duplicates (events/s)", "events"),
}


def figures_of(report: RunReport) -> list[Figure]:
    """The charts, in page order: each an element id, its traces and its layout; the run's faults
    marked on each."""
    x = [f"{moment:{TIME_FORMAT}}" for moment in report.timeline.time]
    xaxis = {"title": {"text": "time (UTC)"}, "type": "date", "range": [x[0], x[-1]] if x else None}
    traces = traces_of(report, x)
    figures = [
        chart(
            element,
            title,
            traces[element],
            unit,
            xaxis,
            barmode="stack" if element == "chart-failures" else None,
        )
        for element, (title, unit) in CHARTS.items()
    ]
    if x:
        mark_faults(figures, fault_marks(report.faults, _on_the_time_axis, x[-1]))
    return figures


def _on_the_time_axis(moment: datetime) -> str:
    """A moment as the time axis has it: UTC (a hand-edited faults.json may carry another offset)."""
    return f"{moment.astimezone(UTC):{TIME_FORMAT}.%f}"


def traces_of(report: RunReport, x: list[Any]) -> dict[str, list[Figure]]:
    """Each chart's traces of the run, over the x values `x` (one per second of its timeline)."""
    timeline = report.timeline
    return {
        "chart-rate": [
            # The target is piecewise linear: a second the loop spent in one long publish has none recorded.
            line(x, timeline.target_rate, "target rate", dash="dash") | {"connectgaps": True},
            line(x, timeline.intended, "intended (by send time)"),
            line(x, timeline.sent, "achieved (acknowledged)"),
            line(x, timeline.processed, "taken in by the pipeline (every kind)"),
        ],
        "chart-publish-latency": _latency(x, timeline.publish_latency_ms),
        "chart-e2e-latency": _latency(x, timeline.end_to_end_latency_ms),
        # A gauge read at each poll: a second the host polled in none of is a gap, not a zero.
        "chart-lag": [
            line(x, lag, f"partition {name}") | {"connectgaps": True} for name, lag in timeline.lag.items()
        ],
        "chart-failures": [
            bar(x, timeline.failed, "undelivered"),
            bar(x, timeline.malformed_sent, "malformed sent"),
            bar(x, timeline.duplicates_sent, "duplicates sent"),
            *(bar(x, counts, f"failed items: {code}") for code, counts in timeline.failed_items.items()),
        ],
    }


def fault_marks(
    faults: list[RunFault], at: Callable[[datetime], str | float], end: str | float, prefix: str = ""
) -> list[FaultMark]:
    """The faults as marks: `at` places a moment on the x axis; an unrecovered fault's span runs to `end`."""
    return [
        FaultMark(
            start=at(fault.struck_at),
            end=at(fault.recovered_at) if fault.recovered_at is not None else end,
            label=f"{prefix}{fault.number}: {fault.kind}",
            recovered=fault.recovered_at is not None,
        )
        for fault in faults
    ]


def _latency(x: list[Any], percentiles: dict[str, list[float | None]]) -> list[Figure]:
    return [line(x, values, label, colour=PERCENTILE_COLOURS[label]) for label, values in percentiles.items()]


def faults_table(report: RunReport, title: str = "Faults", element: str = "faults") -> str:
    rows = [
        (
            str(fault.number),
            fault.kind,
            f"{fault.struck_at:{TIME_FORMAT}.%f}"[:-4],
            f"{(fault.struck_at - report.started_at).total_seconds():,.2f} s",
            f"{(fault.recovered_at - fault.struck_at).total_seconds():,.2f} s"
            if fault.recovered_at is not None
            else "not recovered",
            fault.detail,
            fault.problem or "",
        )
        for fault in report.faults
    ]
    columns = ["fault", "kind", "struck (UTC)", "into the run", "recovered after", "what", "problem"]
    return table(title, columns, rows, element)


def _header(report: RunReport) -> str:
    rows = [
        ("profile", report.profile),
        ("seed", str(report.seed)),
        ("target", f"{report.target} ({plural(report.workers, 'worker')})"),
        (
            "started / finished (UTC)",
            f"{report.started_at:%Y-%m-%d %H:%M:%S} / {report.finished_at:%H:%M:%S}",
        ),
        ("duration", f"{report.duration_seconds:,.1f} s"),
        ("peak target rate", f"{report.figures.peak_target_rate:,.0f} events/s"),
    ]
    verdict = html.escape(VERDICT_TEXT[report.verdict])
    return (
        f"<h1>paysim run {html.escape(report.run_id)}</h1>\n"
        f'<p class="verdict verdict-{report.verdict.replace(" ", "-")}" id="verdict">{verdict}</p>\n'
        + table("Run", ["", ""], rows, element="run-header")
    )


def _metric_rows(report: RunReport) -> list[tuple[str, str]]:
    figures = report.figures
    rows = [
        ("intended / sent / undelivered", f"{figures.intended:,} / {figures.sent:,} / {figures.failed:,}"),
        ("malformed / duplicates sent", f"{figures.malformed_sent:,} / {figures.duplicates_sent:,}"),
        ("achieved rate", f"{figures.achieved_rate:,.1f} events/s"),
    ]
    if figures.publish_latency_ms is not None:
        rows.append(("publish latency p50 / p95 / p99 / max", _summary(figures.publish_latency_ms)))
    if figures.processed is not None:
        rows.append(("taken in by the local host (every kind)", f"{figures.processed:,}"))
    if figures.end_to_end_latency_ms is not None:
        rows.append(("end-to-end latency p50 / p95 / p99 / max", _summary(figures.end_to_end_latency_ms)))
    if figures.max_lag is not None:
        rows.append(("max lag (all partitions)", f"{figures.max_lag:,}"))
    return rows


def _summary(latency: Any) -> str:
    return f"{latency.p50:,.1f} / {latency.p95:,.1f} / {latency.p99:,.1f} / {latency.max:,.1f} ms"


def _reconciliation(report: RunReport) -> str:
    reconciliation = report.reconciliation
    if reconciliation is None:
        reason = report.reconciliation_error or "not reconciled for this report (--no-verify)"
        return f'<h2>Reconciliation</h2>\n<p id="reconciliation">{html.escape(reason)}</p>'
    rows = [
        (check.name, check.rule, f"{check.expected:,}", f"{check.actual:,}", "yes" if check.passed else "NO")
        for check in reconciliation.checks
    ]
    page = table("Reconciliation", ["check", "rule", "expected", "actual", "passed"], rows, "reconciliation")
    differences = [
        (difference.kind, difference.subject, f"{difference.expected:,}", f"{difference.actual:,}")
        for difference in reconciliation.differences[:50]
    ]
    if differences:
        page += table("Differences", ["kind", "subject", "expected", "actual"], differences, "differences")
    return page


def _code_rows(report: RunReport) -> list[tuple[str, str]]:
    return [(code, f"{count:,}") for code, count in report.failed_item_codes.items()] or [("none", "0")]


def write_run_report(
    settings: Settings,
    run_id: str,
    path: Path,
    *,
    verify: bool,
    reconciliation: ReconciliationReport | None = None,
) -> RunReport:
    """Build run `run_id`'s report (see `build_report`) and write it as HTML to `path` (`--report` on
    simulate, pipeline run and demo; `paysim runs report`)."""
    report = build_report(settings, run_id, verify=verify, reconciliation=reconciliation)
    write_html(report, path)
    return report

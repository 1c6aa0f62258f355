"""`paysim runs compare A B --output FILE.html`: the two runs on one self-contained page (runs/page.py),
the run report's charts with both runs overlaid and the table of deltas.

The time axis is seconds since each run's start (the manifest's, to the second), so runs of different
wall times line up; each run keeps one colour, each of its measures a dash, and the legend names it by
side and run id. Lag is all partitions together: two runs' partitions side by side would be a tangle.
"""

from __future__ import annotations

import html
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Literal

from paysim_cli.output import plural
from paysim_cli.runs.compare import RunComparison, delta_label, format_change, format_value
from paysim_cli.runs.html import CHARTS, fault_marks, faults_table, traces_of
from paysim_cli.runs.page import (
    Figure,
    chart,
    chart_elements,
    line,
    mark_faults,
    render_page,
    table,
    write_page,
)
from paysim_cli.runs.report import RunReport, Timeline

Side = Literal["A", "B"]
RUN_COLOURS: dict[Side, str] = {"A": "#1f77b4", "B": "#ff7f0e"}
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]


def write_comparison(comparison: RunComparison, a: RunReport, b: RunReport, path: Path) -> Path:
    """Write the page atomically; the path written."""
    figures = comparison_figures(a, b)
    sections = [
        f"<h1>paysim runs compare: {html.escape(a.run_id)} (A) and {html.escape(b.run_id)} (B)</h1>",
        _runs_table(comparison),
        _delta_table(comparison),
        *chart_elements(figures),
        *(
            faults_table(run, f"Faults of {side} ({run.run_id})", f"faults-{side}")
            for side, run in (("A", a), ("B", b))
            if run.faults
        ),
    ]
    page = render_page(f"paysim runs compare {a.run_id} {b.run_id}", sections, figures, "paysim runs compare")
    return write_page(page, path)


def comparison_figures(a: RunReport, b: RunReport) -> list[Figure]:
    """The run report's charts, each with both runs' traces, on seconds since each run's start."""
    sides: dict[Side, RunReport] = {"A": a, "B": b}
    traces = {side: _run_traces(side, run) for side, run in sides.items()}
    xaxis = {"title": {"text": "seconds since the run's start"}, "type": "linear", "rangemode": "tozero"}
    figures = [
        chart(
            element,
            title.replace("per partition", "(all partitions)"),
            traces["A"][element] + traces["B"][element],
            unit,
            xaxis,
            empty="nothing recorded for either run",
        )
        for element, (title, unit) in CHARTS.items()
    ]
    for side, run in sides.items():
        end = _offset(run, run.timeline.time[-1]) if run.timeline.time else 0
        mark_faults(figures, fault_marks(run.faults, partial(_offset, run), end, f"{side} "))
    return figures


def _offset(run: RunReport, moment: datetime) -> float:
    """Seconds since the run's start second: its first second is 0, a fault keeps its fraction."""
    return round(moment.timestamp() - int(run.started_at.timestamp()), 3)


def _run_traces(side: Side, run: RunReport) -> dict[str, list[Figure]]:
    x = [_offset(run, moment) for moment in run.timeline.time]
    traces = traces_of(run, x)
    traces["chart-lag"] = [line(x, _total_lag(run.timeline), "lag") | {"connectgaps": True}]
    return {
        element: [
            line(
                trace["x"],
                trace["y"],
                f"{side}: {trace['name']}",
                dash=DASHES[index % len(DASHES)],
                colour=RUN_COLOURS[side],
                group=side,
            )
            | {
                "connectgaps": trace.get("connectgaps", False),
                "legendgrouptitle": {"text": f"{side}: {run.run_id}"},
            }
            for index, trace in enumerate(element_traces)
        ]
        for element, element_traces in traces.items()
    }


def _total_lag(timeline: Timeline) -> list[int | None]:
    """Each second's lag over every partition the host read in it; a second it read none is a gap."""
    seconds = zip(*timeline.lag.values(), strict=True) if timeline.lag else ([] for _ in timeline.time)
    return [
        None if all(value is None for value in lags) else sum(value or 0 for value in lags)
        for lags in seconds
    ]


def _runs_table(comparison: RunComparison) -> str:
    rows = [
        (
            run.side,
            run.run_id,
            f"{run.profile} / {run.seed}",
            f"{run.target} ({plural(run.workers, 'worker')})",
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            f"{run.duration_seconds:,.1f} s",
            f"{run.peak_target_rate:,.0f} events/s",
            f"{run.sent:,}",
            run.verdict,
        )
        for run in (comparison.a, comparison.b)
    ]
    columns = [
        "",
        "run",
        "profile / seed",
        "target",
        "started (UTC)",
        "duration",
        "peak target",
        "sent",
        "verdict",
    ]
    return table("Runs", columns, rows, "runs")


def _delta_table(comparison: RunComparison) -> str:
    """B against A; the outcome cell is coloured, so a regression stands out."""
    head = "".join(
        f"<th>{column}</th>" for column in ("measure", "A", "B", "change", "relative", "better", "B is")
    )
    rows = []
    for delta in comparison.deltas:
        change, relative = format_change(delta)
        cells = [
            delta_label(delta),
            format_value(delta.a, delta.unit),
            format_value(delta.b, delta.unit),
            change,
            relative,
            f"{delta.better} is better",
        ]
        rows.append(_row(cells, delta.outcome))
    verdict = comparison.verdict
    rows.append(_row(["verdict", verdict.a, verdict.b, "", "", "reconciling is better"], verdict.outcome))
    body = "\n".join(rows)
    table_html = f'<table id="deltas"><thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody></table>'
    return f"<h2>B against A</h2>\n{table_html}"


def _row(cells: list[str], outcome: str) -> str:
    tds = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
    return f'<tr>{tds}<td class="{outcome.replace(" ", "-")}">{html.escape(outcome)}</td></tr>'

"""A run report as one self-contained HTML page: Plotly's JavaScript (from the `plotly` package's data,
read at report time) is inlined, so the page opens with no network, attached to a ticket or mailed.

The figures are built here, as Plotly JSON; the page only hands them to `Plotly.newPlot` and marks
`<body data-charts="drawn">` once every chart has drawn (the browser test waits for it).
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.output import plural
from paysim_cli.reconcile.verify import ReconciliationReport
from paysim_cli.runs.report import RunReport, build_report
from paysim_cli.settings import Settings

Figure = dict[str, Any]
PERCENTILE_COLOURS = {"p50": "#1f77b4", "p95": "#ff7f0e", "p99": "#d62728"}
VERDICT_TEXT = {
    "reconciles": "reconciles exactly",
    "differs": "does NOT reconcile",
    "not verified": "not verified",
}


def plotly_js() -> str:
    """plotly.min.js as the `plotly` package ships it."""
    try:
        return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise PaysimError(
            "chart_library_missing",
            "the report's chart library (plotly.min.js from the `plotly` package) is not installed",
            "reinstall paysim (`make setup`): `plotly` is one of its dependencies",
            exit_code=ExitCode.CONFIG,
        ) from error


def write_html(report: RunReport, path: Path) -> Path:
    """Write the page atomically; the path written."""
    page = render_html(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, path)
    return path


def render_html(report: RunReport) -> str:
    import orjson

    figures = figures_of(report)
    sections = "\n".join(
        [
            _header(report),
            _table("Top metrics", ["measure", "value"], _metric_rows(report)),
            *(f'<div class="chart" id="{figure["id"]}"></div>' for figure in figures),
            _reconciliation(report),
            _table("Failed items by code", ["error code", "items"], _code_rows(report)),
        ]
    )
    return PAGE.format(
        title=html.escape(f"paysim run {report.run_id}"),
        sections=sections,
        plotly=plotly_js(),
        # In a <script> element, "</" could end it early: JSON allows "<\\/" for the same text.
        figures=orjson.dumps(figures).decode().replace("</", "<\\/"),
        generated=f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
    )


def figures_of(report: RunReport) -> list[Figure]:
    """The charts, in page order: each an element id, its traces and its layout."""
    timeline = report.timeline
    x = [f"{moment:%Y-%m-%d %H:%M:%S}" for moment in timeline.time]
    rate = [
        # The target is piecewise linear: a second the loop spent in one long publish has none recorded.
        _line(x, timeline.target_rate, "target rate", dash="dash") | {"connectgaps": True},
        _line(x, timeline.intended, "intended (by send time)"),
        _line(x, timeline.sent, "achieved (acknowledged)"),
        _line(x, timeline.processed, "taken in by the pipeline (every kind)"),
    ]
    failures = [
        _bar(x, timeline.failed, "undelivered"),
        _bar(x, timeline.malformed_sent, "malformed sent"),
        _bar(x, timeline.duplicates_sent, "duplicates sent"),
        *(_bar(x, counts, f"failed items: {code}") for code, counts in timeline.failed_items.items()),
    ]
    return [
        _figure("chart-rate", "Rate: target vs achieved (events/s)", rate, "events/s", x),
        _figure(
            "chart-publish-latency",
            "Publish latency: intended send to acknowledgement (ms)",
            _latency(x, timeline.publish_latency_ms),
            "ms",
            x,
        ),
        _figure(
            "chart-e2e-latency",
            "End-to-end latency: intended send to the function's return (ms)",
            _latency(x, timeline.end_to_end_latency_ms),
            "ms",
            x,
        ),
        _figure(
            "chart-lag",
            "Lag per partition (events)",
            # A gauge read at each poll: a second the host polled in none of is a gap, not a zero.
            [
                _line(x, lag, f"partition {name}") | {"connectgaps": True}
                for name, lag in timeline.lag.items()
            ],
            "events",
            x,
        ),
        _figure(
            "chart-failures", "Failures and duplicates (events/s)", failures, "events", x, barmode="stack"
        ),
    ]


def _latency(x: list[str], percentiles: dict[str, list[float | None]]) -> list[Figure]:
    return [
        _line(x, values, label, colour=PERCENTILE_COLOURS[label]) for label, values in percentiles.items()
    ]


def _line(x: list[str], y: list[Any], name: str, *, dash: str = "solid", colour: str | None = None) -> Figure:
    """Lines with markers: a second alone between gaps (a slow publish, a stalled pipeline) still shows."""
    line: dict[str, str] = {"dash": dash} | ({"color": colour} if colour else {})
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "marker": {"size": 5},
        "name": name,
        "x": x,
        "y": y,
        "line": line,
        "connectgaps": False,
    }


def _bar(x: list[str], y: list[int], name: str) -> Figure:
    return {"type": "bar", "name": name, "x": x, "y": y}


def _figure(
    element: str, title: str, traces: list[Figure], unit: str, x: list[str], *, barmode: str | None = None
) -> Figure:
    has_data = any(value not in (None, 0) for trace in traces for value in trace["y"])
    layout: Figure = {
        "title": {"text": title},
        "xaxis": {"title": {"text": "time (UTC)"}, "type": "date", "range": [x[0], x[-1]] if x else None},
        "yaxis": {"title": {"text": unit}, "rangemode": "tozero"},
        "height": 320,
        "margin": {"t": 48, "b": 48},
        "legend": {"orientation": "h"},
    }
    if barmode:
        layout["barmode"] = barmode
    if not has_data:
        layout["annotations"] = [
            {"text": "nothing recorded for this run", "showarrow": False, "xref": "paper", "yref": "paper"}
        ]
    return {"id": element, "traces": traces, "layout": layout}


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
        + _table("Run", ["", ""], rows, element="run-header")
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
    table = _table(
        "Reconciliation", ["check", "rule", "expected", "actual", "passed"], rows, "reconciliation"
    )
    differences = [
        (difference.kind, difference.subject, f"{difference.expected:,}", f"{difference.actual:,}")
        for difference in reconciliation.differences[:50]
    ]
    if differences:
        table += _table("Differences", ["kind", "subject", "expected", "actual"], differences, "differences")
    return table


def _code_rows(report: RunReport) -> list[tuple[str, str]]:
    return [(code, f"{count:,}") for code, count in report.failed_item_codes.items()] or [("none", "0")]


def _table(
    title: str, columns: list[str], rows: Sequence[tuple[str, ...]], element: str | None = None
) -> str:
    identity = f' id="{element}"' if element else ""
    cells = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    head = f"<thead><tr>{cells}</tr></thead>" if any(columns) else ""
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<h2>{html.escape(title)}</h2>\n<table{identity}>{head}\n<tbody>{body}</tbody></table>"


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
.verdict {{ display: inline-block; padding: 6px 14px; border-radius: 4px; font-weight: bold; color: #fff; }}
.verdict-reconciles {{ background: #2ca02c; }} .verdict-differs {{ background: #d62728; }}
.verdict-not-verified {{ background: #7f7f7f; }}
.chart {{ margin: 1em 0; }}
footer {{ color: #777; font-size: small; }}
</style>
<script>{plotly}</script>
</head>
<body data-charts="pending">
{sections}
<footer>Written by paysim runs report at {generated}; opens offline (Plotly is inlined).</footer>
<script type="application/json" id="figures">{figures}</script>
<script>
(function () {{
  const figures = JSON.parse(document.getElementById("figures").textContent);
  const config = {{ displaylogo: false, responsive: true }};
  Promise.all(figures.map((f) => Plotly.newPlot(f.id, f.traces, f.layout, config)))
    .then(() => {{ document.body.dataset.charts = "drawn"; }})
    .catch((error) => {{ document.body.dataset.charts = "failed"; console.error(error); }});
}})();
</script>
</body>
</html>
"""


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

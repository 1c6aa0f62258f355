"""What the run report (runs/html.py) and the comparison (runs/compare_html.py) pages share: one
self-contained HTML page with Plotly's JavaScript (from the `plotly` package's data, read at report
time) inlined, so the page opens with no network, attached to a ticket or mailed; the chart, trace and
table builders; and the fault marks on a timeline.

The figures are built in Python, as Plotly JSON; the page only hands them to `Plotly.newPlot` and marks
`<body data-charts="drawn">` once every chart has drawn (the browser test waits for it).
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from paysim_cli.errors import ExitCode, PaysimError

Figure = dict[str, Any]
PERCENTILE_COLOURS = {"p50": "#1f77b4", "p95": "#ff7f0e", "p99": "#d62728"}
RECOVERED_FILL, UNRECOVERED_FILL = "rgba(255, 127, 14, 0.18)", "rgba(214, 39, 40, 0.22)"
RECOVERED_LINE, UNRECOVERED_LINE = "#ff7f0e", "#d62728"
LABEL_ROWS = 3  # fault labels step down in rows, so faults close together stay readable


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


def render_page(title: str, sections: Sequence[str], figures: list[Figure], written_by: str) -> str:
    """The page: `sections` (HTML, each chart's element among them) and the charts' `figures`."""
    import orjson

    return PAGE.format(
        title=html.escape(title),
        sections="\n".join(sections),
        plotly=plotly_js(),
        # In a <script> element, "</" could end it early: JSON allows "<\\/" for the same text.
        figures=orjson.dumps(figures).decode().replace("</", "<\\/"),
        written_by=html.escape(written_by),
        generated=f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
    )


def chart_elements(figures: list[Figure]) -> list[str]:
    return [f'<div class="chart" id="{figure["id"]}"></div>' for figure in figures]


def write_page(page: str, path: Path) -> Path:
    """Write the page atomically; the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, path)
    return path


def line(
    x: Sequence[Any],
    y: Sequence[Any],
    name: str,
    *,
    dash: str = "solid",
    colour: str | None = None,
    group: str | None = None,
) -> Figure:
    """Lines with markers: a second alone between gaps (a slow publish, a stalled pipeline) still shows."""
    style: dict[str, str] = {"dash": dash} | ({"color": colour} if colour else {})
    trace: Figure = {
        "type": "scatter",
        "mode": "lines+markers",
        "marker": {"size": 5},
        "name": name,
        "x": list(x),
        "y": list(y),
        "line": style,
        "connectgaps": False,
    }
    if group is not None:
        trace["legendgroup"] = group
    return trace


def bar(x: Sequence[Any], y: Sequence[int], name: str) -> Figure:
    return {"type": "bar", "name": name, "x": list(x), "y": list(y)}


def chart(
    element: str,
    title: str,
    traces: list[Figure],
    unit: str,
    xaxis: Figure,
    *,
    barmode: str | None = None,
    empty: str = "nothing recorded for this run",
) -> Figure:
    """One chart: its element id, traces and layout; one with no data says so on its face."""
    has_data = any(value not in (None, 0) for trace in traces for value in trace["y"])
    layout: Figure = {
        "title": {"text": title},
        "xaxis": xaxis,
        "yaxis": {"title": {"text": unit}, "rangemode": "tozero"},
        "height": 320,
        "margin": {"t": 48, "b": 48},
        "legend": {"orientation": "h"},
        "annotations": [],
        "shapes": [],
    }
    if barmode:
        layout["barmode"] = barmode
    if not has_data:
        layout["annotations"].append({"text": empty, "showarrow": False, "xref": "paper", "yref": "paper"})
    return {"id": element, "traces": traces, "layout": layout}


@dataclass(frozen=True)
class FaultMark:
    """One fault on a timeline: struck at `start`, recovered at `end` (for one never recovered: the
    chart's end), in the x axis' units."""

    start: str | float
    end: str | float
    label: str
    recovered: bool


def mark_faults(figures: list[Figure], marks: Sequence[FaultMark]) -> None:
    """Each fault on every chart: a line where it struck, a span shaded to its recovery (orange) or
    to the end (red, labelled "not recovered"), and its label at the top."""
    for figure in figures:
        layout = figure["layout"]
        for row, mark in enumerate(marks):
            fill, edge = (
                (RECOVERED_FILL, RECOVERED_LINE) if mark.recovered else (UNRECOVERED_FILL, UNRECOVERED_LINE)
            )
            span = {"xref": "x", "yref": "paper", "y0": 0, "y1": 1, "layer": "below"}
            layout["shapes"] += [
                span
                | {"type": "rect", "x0": mark.start, "x1": mark.end, "fillcolor": fill, "line": {"width": 0}},
                span
                | {"type": "line", "x0": mark.start, "x1": mark.start, "line": {"color": edge, "width": 1.5}},
            ]
            layout["annotations"].append(
                {
                    "text": html.escape(mark.label if mark.recovered else f"{mark.label} (not recovered)"),
                    "x": mark.start,
                    "xref": "x",
                    "y": 1 - 0.08 * (row % LABEL_ROWS),
                    "yref": "paper",
                    "xanchor": "left",
                    "yanchor": "top",
                    "showarrow": False,
                    "font": {"size": 10, "color": edge},
                }
            )


def table(title: str, columns: list[str], rows: Sequence[tuple[str, ...]], element: str | None = None) -> str:
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
.better {{ color: #2ca02c; font-weight: bold; }} .worse {{ color: #d62728; font-weight: bold; }}
.chart {{ margin: 1em 0; }}
footer {{ color: #777; font-size: small; }}
</style>
<script>{plotly}</script>
</head>
<body data-charts="pending">
{sections}
<footer>Written by {written_by} at {generated}; opens offline (Plotly is inlined).</footer>
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

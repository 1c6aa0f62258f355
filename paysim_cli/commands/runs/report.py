"""`paysim runs report RUN_ID`: the run as one self-contained HTML page, charts and reconciliation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.runs.report import RunReport

EXAMPLES = (
    "paysim runs report 20251128T000000000Z-s7",
    "paysim runs report chaos-7 --output chaos-7.html --no-verify",
    "paysim runs report chaos-7 --json",
)


def report_run(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id `paysim simulate` printed (`paysim runs list`).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The HTML file to write.", show_default="RUN_ID.html"),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(help="Reconcile the run now, as `paysim verify` does; off: its last recorded verdict."),
    ] = True,
    json_output: JsonOption = False,
) -> None:
    """Write a run's report: rate target vs achieved, latency percentiles over time, lag per partition,
    failures by code and the reconciliation, in one HTML file that opens with no network."""
    from paysim_cli.runs.html import write_run_report

    state = app_context(ctx, json_output)
    path = output or Path(f"{run_id}.html")
    report = write_run_report(state.settings, run_id, path, verify=verify)
    state.output.result(
        {"path": path.resolve(), "report": report}, lambda console: render_written(console, report, path)
    )


def render_written(console: Console, report: RunReport, path: Path) -> None:
    figures = report.figures
    console.print(
        f"run {report.run_id}: {report.verdict}; {figures.sent:,} events sent at "
        f"{figures.achieved_rate:,.0f}/s; report written to {path}",
        markup=False,
    )

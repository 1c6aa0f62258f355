"""`paysim runs compare A B`: two runs side by side, B against A, and with --output the charts overlaid."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.runs.compare import RunComparison

EXAMPLES = (
    "paysim runs compare before-7 after-7",
    "paysim runs compare before-7 after-7 --output before-after.html",
    "paysim runs compare before-7 after-7 --no-verify --json",
)
RUN_HELP = "The run id `paysim simulate` printed (`paysim runs list`)."


def compare_runs(
    ctx: typer.Context,
    run_a: Annotated[str, typer.Argument(metavar="A", help=f"The run to compare against. {RUN_HELP}")],
    run_b: Annotated[str, typer.Argument(metavar="B", help=f"The run compared with A. {RUN_HELP}")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write both runs' charts, overlaid, to this HTML file."),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(
            help="Reconcile both runs now, as `paysim verify` does; off: their last recorded verdicts."
        ),
    ] = True,
    json_output: JsonOption = False,
) -> None:
    """Compare two runs: achieved rate, publish and end-to-end latency percentiles, failed items,
    duplicates, lag, drain time and verdict of B against A, with the absolute and relative change
    and whether it is for the better. The charts, overlaid on seconds since each run's start, go to
    --output as one HTML file that opens with no network."""
    from paysim_cli.runs.compare import compare_runs as compare
    from paysim_cli.runs.compare_html import write_comparison

    state = app_context(ctx, json_output)
    comparison, a, b = compare(state.settings, run_a, run_b, verify=verify)
    if output is not None:
        comparison.page = write_comparison(comparison, a, b, output).resolve()
    state.output.result(comparison, lambda console: render_comparison(console, comparison))


def render_comparison(console: Console, comparison: RunComparison) -> None:
    from rich.table import Table

    from paysim_cli.runs.compare import delta_label, format_change, format_value

    a, b = comparison.a, comparison.b
    table = Table(title=f"B ({b.run_id}) against A ({a.run_id})")
    for column in ("measure", "A", "B", "change", "relative", "better", "B is"):
        table.add_column(column, justify="right" if column in ("A", "B", "change", "relative") else "left")
    for delta in comparison.deltas:
        change, relative = format_change(delta)
        a_value, b_value = format_value(delta.a, delta.unit), format_value(delta.b, delta.unit)
        table.add_row(delta_label(delta), a_value, b_value, change, relative, delta.better, delta.outcome)
    verdict = comparison.verdict
    table.add_row("verdict", verdict.a, verdict.b, "", "", "reconciles", verdict.outcome)
    console.print(table)
    where = (
        f"charts written to {comparison.page}" if comparison.page else "--output FILE.html draws the charts"
    )
    console.print(where, markup=False)

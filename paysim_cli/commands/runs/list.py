"""`paysim runs list`: the simulate runs in the state directory, newest first, and their verdicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.runs.catalog import RunsReport

EXAMPLES = ("paysim runs list", "paysim runs list --limit 5 --json")


def list_runs(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(help="Show only the newest N runs.", min=1)] = None,
    json_output: JsonOption = False,
) -> None:
    """List the runs with what each sent and whether `paysim verify` reconciled it."""
    from paysim_cli.runs.catalog import list_runs as catalog

    state = app_context(ctx, json_output)
    report = catalog(state.settings, limit=limit)
    state.output.result(report, lambda console: render_runs(console, report))


def render_runs(console: Console, report: RunsReport) -> None:
    from rich.table import Table

    if not report.runs:
        console.print(f"no runs in {report.runs_directory}: `paysim simulate` writes one", markup=False)
        return
    table = Table(title=f"runs in {report.runs_directory}")
    for column in ("run", "started (UTC)", "profile", "target", "delivered", "state"):
        table.add_column(column, justify="right" if column == "delivered" else "left")
    for run in report.runs:
        table.add_row(
            run.run_id,
            f"{run.started_at:%Y-%m-%d %H:%M:%S}" if run.started_at else "",
            run.profile or "",
            run.target or "",
            f"{run.delivered:,}" if run.delivered is not None else "",
            run.state,
        )
    console.print(table)

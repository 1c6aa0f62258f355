"""`paysim metrics show`: the latest 5-minute windows and the top dynamic metrics."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.metrics.render import render_metrics
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context

EXAMPLES = ("paysim metrics show", "paysim metrics show --limit 50 --top 5 --json")


def show(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Window rows to show, newest first.", min=1, max=10_000)] = 20,
    top: Annotated[
        int, typer.Option(help="Groups per dynamic metric (its latest window).", min=0, max=1000)
    ] = 3,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the latest payment_metrics_5m windows, largest first, and the top dynamic metrics."""
    from paysim_cli.metrics.show import latest_metrics

    state = app_context(ctx, json_output)
    report = latest_metrics(state.settings.override(database_url=database_url), limit=limit, top=top)
    state.output.result(report, lambda console: render_metrics(console, report))

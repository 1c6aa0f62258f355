"""`paysim dlq stats`: what an operator looks at first during an incident."""

from __future__ import annotations

import typer

from paysim_cli.commands.dlq.render import render_stats
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context

EXAMPLES = ("paysim dlq stats", "paysim dlq stats --json")


def stats(
    ctx: typer.Context, database_url: DatabaseUrlOption = None, json_output: JsonOption = False
) -> None:
    """Count failed items by status, stage and code; the oldest pending; per hour over the last day."""
    from paysim_cli.dlq.triage import failed_item_stats

    state = app_context(ctx, json_output)
    report = failed_item_stats(state.settings.override(database_url=database_url))
    state.output.result(report, lambda console: render_stats(console, report))

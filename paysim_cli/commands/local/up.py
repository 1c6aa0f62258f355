"""`paysim local up`."""

from __future__ import annotations

import typer

from paysim_cli.commands.local.render import stack_renderer
from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim local up",
    "paysim local up --json",
)


def up(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Start PostgreSQL, Azurite and the local event log (idempotent)."""
    from paysim_cli.local import stack

    state = app_context(ctx, json_output)
    report = stack.up(state.settings)
    state.output.result(report, stack_renderer(report, "local stack"))

"""`paysim local status`."""

from __future__ import annotations

import typer

from paysim_cli.commands.local.render import stack_renderer
from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim local status",
    "paysim local status --json",
)


def status(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Show each part of the local stack with pid, address and a live health probe; exit 4 when a
    part is down or unhealthy."""
    from paysim_cli.local import stack

    state = app_context(ctx, json_output)
    report = stack.status(state.settings)
    failure = stack.unhealthy_error(report, state.settings)
    state.output.outcome(report, stack_renderer(report, "local stack"), failure)

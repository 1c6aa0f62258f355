"""`paysim local down`."""

from __future__ import annotations

import typer

from paysim_cli.commands.local.render import stack_renderer
from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

EXAMPLES = ("paysim local down",)


def down(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Stop the local stack cleanly; data is kept."""
    from paysim_cli.local import stack

    state = app_context(ctx, json_output)
    report = stack.down(state.settings)
    state.output.result(report, stack_renderer(report, "local stack"))

"""`paysim local reset`."""

from __future__ import annotations

import typer

from paysim_cli.commands.confirm import confirmed
from paysim_cli.commands.local.render import stack_renderer
from paysim_cli.commands.options import JsonOption, YesOption
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim local reset",
    "paysim local reset --yes",
)


def reset(ctx: typer.Context, yes: YesOption = False, json_output: JsonOption = False) -> None:
    """Stop the local stack and delete all its data (databases, blobs, events, runs).

    Asks first at a terminal; elsewhere it needs --yes.
    """
    from paysim_cli.local import stack

    state = app_context(ctx, json_output)
    question = f"Delete every local database, blob, event and run under {state.settings.state_dir}?"
    report = stack.reset(state.settings, confirmed=confirmed(state.output, question, yes=yes))
    state.output.result(report, stack_renderer(report, "local stack after reset"))

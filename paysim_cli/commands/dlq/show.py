"""`paysim dlq show ID`: every column of a failed item, its payload shown safely, its history."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.dlq.render import render_item
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context

EXAMPLES = ("paysim dlq show 4711", "paysim dlq show 4711 --full", "paysim dlq show 4711 --json")


def show(
    ctx: typer.Context,
    item_id: Annotated[
        int, typer.Argument(metavar="ID", help="The failed item's id (`paysim dlq list`).", min=1)
    ],
    full: Annotated[bool, typer.Option("--full", help="Print the whole payload, however long.")] = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a failed item: every column, its payload (text or base64), its replay and discard history."""
    from paysim_cli.dlq.triage import show_failed_item

    state = app_context(ctx, json_output)
    item = show_failed_item(state.settings.override(database_url=database_url), item_id)
    # Piped or redirected, the payload is printed whole: cutting it is for a person at a terminal.
    whole = full or not state.output.is_tty
    state.output.result(item, lambda console: render_item(console, item, full=whole))

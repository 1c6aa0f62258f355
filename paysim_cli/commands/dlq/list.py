"""`paysim dlq list`: failed items matching the filters, newest first, a keyset page at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.dlq.options import LimitOption, StatusOption, filtered
from paysim_cli.commands.dlq.render import render_list
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, validated
from paysim_cli.context import app_context
from paysim_cli.dlq.bounds import DEFAULT_PAGE
from paysim_cli.dlq.models import ItemFilter

EXAMPLES = (
    "paysim dlq list",
    "paysim dlq list --code unknown_currency --since 2h",
    "paysim dlq list --status all --run-id 20251128T000000000Z-s7 --limit 100 --json",
    "paysim dlq list --after-id 4711",
)


@filtered(StatusOption)
def list_items(
    ctx: typer.Context,
    item_filter: ItemFilter,
    limit: LimitOption = DEFAULT_PAGE,
    after_id: Annotated[
        int | None, typer.Option(help="Continue a page: items older than this id.", show_default=False)
    ] = None,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """List failed items, newest first; --after-id continues a page."""
    from paysim_cli.dlq.models import ListRequest
    from paysim_cli.dlq.triage import list_failed_items

    state = app_context(ctx, json_output)
    request = validated(ctx, ListRequest, filter=item_filter, limit=limit, after_id=after_id)
    report = list_failed_items(state.settings.override(database_url=database_url), request)
    state.output.result(report, lambda console: render_list(console, report))

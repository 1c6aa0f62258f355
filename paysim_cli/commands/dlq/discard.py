"""`paysim dlq discard`: set pending items aside, with a reason; they stay in the table."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.confirm import confirmed
from paysim_cli.commands.dlq.options import BulkYesOption, filtered
from paysim_cli.commands.dlq.render import render_discard
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, validated
from paysim_cli.context import app_context
from paysim_cli.dlq.models import ItemFilter

EXAMPLES = (
    'paysim dlq discard --code not_json --reason "producer bug PAY-123, fixed upstream"',
    'paysim dlq discard --id 4711 --id 4712 --reason "test traffic"',
)


@filtered()
def discard(
    ctx: typer.Context,
    item_filter: ItemFilter,
    reason: Annotated[str, typer.Option("--reason", help="Why: kept in each item's history.")],
    yes: BulkYesOption = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Discard the matching pending items: status discarded, never deleted (`dlq purge` deletes)."""
    from paysim_cli.dlq.cleanup import discard_failed_items
    from paysim_cli.dlq.models import DiscardRequest

    state = app_context(ctx, json_output)
    request = validated(ctx, DiscardRequest, filter=item_filter, reason=reason)
    report = discard_failed_items(
        state.settings.override(database_url=database_url),
        request,
        confirm=lambda question: confirmed(state.output, question, yes=yes),
    )
    state.output.result(report, lambda console: render_discard(console, report))

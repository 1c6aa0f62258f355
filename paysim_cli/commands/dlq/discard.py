"""`paysim dlq discard`: set pending items aside, with a reason; they stay in the table."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.dlq.options import (
    CodeOption,
    IdOption,
    PartitionOption,
    RunIdOption,
    SinceOption,
    StageOption,
    StatusChoice,
    TransactionIdOption,
    UntilOption,
    build_request,
    filter_values,
)
from paysim_cli.commands.dlq.render import render_discard
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context
from paysim_cli.dlq.bounds import CONFIRM_THRESHOLD


def discard(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why: kept in each item's history.")],
    code: CodeOption = None,
    stage: StageOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    partition: PartitionOption = None,
    transaction_id: TransactionIdOption = None,
    run_id: RunIdOption = None,
    item_id: IdOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help=f"Needed to discard more than {CONFIRM_THRESHOLD} items.")
    ] = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Discard the matching pending items: status discarded, never deleted (`dlq purge` deletes)."""
    from paysim_cli.dlq.cleanup import discard_failed_items
    from paysim_cli.dlq.models import DiscardRequest

    state = app_context(ctx, json_output)
    item_filter = filter_values(
        StatusChoice.PENDING, code, stage, since, until, partition, transaction_id, run_id, item_id
    )
    request = build_request(DiscardRequest, "discard", filter=item_filter, reason=reason, confirmed=yes)
    report = discard_failed_items(state.settings.override(database_url=database_url), request)
    state.output.result(report, lambda console: render_discard(console, report))

"""`paysim dlq discard`: set pending items aside, with a reason; they stay in the table."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.confirm import confirmed
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
    filter_values,
)
from paysim_cli.commands.dlq.render import render_discard
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, validated
from paysim_cli.context import app_context
from paysim_cli.dlq.bounds import CONFIRM_THRESHOLD

EXAMPLES = (
    'paysim dlq discard --code not_json --reason "producer bug PAY-123, fixed upstream"',
    'paysim dlq discard --id 4711 --id 4712 --reason "test traffic"',
)


def discard(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why: kept in each item's history.")],
    codes: CodeOption = None,
    stages: StageOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    partitions: PartitionOption = None,
    transaction_id: TransactionIdOption = None,
    run_id: RunIdOption = None,
    ids: IdOption = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help=f"Discard more than {CONFIRM_THRESHOLD} items without asking (a terminal asks).",
        ),
    ] = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Discard the matching pending items: status discarded, never deleted (`dlq purge` deletes)."""
    from paysim_cli.dlq.cleanup import discard_failed_items
    from paysim_cli.dlq.models import DiscardRequest, ItemFilter

    state = app_context(ctx, json_output)
    values = filter_values(
        StatusChoice.PENDING, codes, stages, since, until, partitions, transaction_id, run_id, ids
    )
    item_filter = validated(ctx, ItemFilter, **values)
    request = validated(ctx, DiscardRequest, filter=item_filter, reason=reason)
    report = discard_failed_items(
        state.settings.override(database_url=database_url),
        request,
        confirm=lambda question: confirmed(state.output, question, yes=yes),
    )
    state.output.result(report, lambda console: render_discard(console, report))

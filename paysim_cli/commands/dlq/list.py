"""`paysim dlq list`: failed items matching the filters, newest first, a keyset page at a time."""

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
    StatusOption,
    TransactionIdOption,
    UntilOption,
    build_request,
    filter_values,
)
from paysim_cli.commands.dlq.render import render_list
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context
from paysim_cli.dlq.bounds import DEFAULT_PAGE, MAX_PAGE


def list_items(
    ctx: typer.Context,
    status: StatusOption = StatusChoice.PENDING,
    code: CodeOption = None,
    stage: StageOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    partition: PartitionOption = None,
    transaction_id: TransactionIdOption = None,
    run_id: RunIdOption = None,
    item_id: IdOption = None,
    limit: Annotated[int, typer.Option(help=f"Items per page, at most {MAX_PAGE}.")] = DEFAULT_PAGE,
    after_id: Annotated[
        int | None, typer.Option(help="Continue a page: items older than this id.", show_default=False)
    ] = None,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """List failed items, newest first; --json for machines, --after-id for the next page."""
    from paysim_cli.dlq.models import ListRequest
    from paysim_cli.dlq.triage import list_failed_items

    state = app_context(ctx, json_output)
    item_filter = filter_values(status, code, stage, since, until, partition, transaction_id, run_id, item_id)
    request = build_request(ListRequest, "list", filter=item_filter, limit=limit, after_id=after_id)
    report = list_failed_items(state.settings.override(database_url=database_url), request)
    state.output.result(report, lambda console: render_list(console, report))

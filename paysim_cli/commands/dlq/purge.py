"""`paysim dlq purge`: the only way failed items are deleted — resolved ones, older than a cutoff."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.confirm import confirmed
from paysim_cli.commands.dlq.options import ResolvedStatus
from paysim_cli.commands.dlq.render import render_purge
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, YesOption, validated
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim dlq purge --older-than 30d --status discarded --yes",
    "paysim dlq purge --older-than 90d --status replayed --yes --json",
)


def purge(
    ctx: typer.Context,
    older_than: Annotated[
        str,
        typer.Option("--older-than", metavar="DURATION", help="Last changed longer ago than this: 30d, 12h."),
    ],
    status: Annotated[
        ResolvedStatus, typer.Option("--status", help="Discarded or replayed items; pending ones never.")
    ] = ResolvedStatus.DISCARDED,
    yes: YesOption = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete discarded (or replayed) items last changed before the cutoff, with their history."""
    from paysim_cli.dlq.cleanup import purge_failed_items
    from paysim_cli.dlq.models import PurgeRequest

    state = app_context(ctx, json_output)
    request = validated(ctx, PurgeRequest, older_than=older_than, status=str(status))
    report = purge_failed_items(
        state.settings.override(database_url=database_url),
        request,
        confirm=lambda question: confirmed(state.output, question, yes=yes),
    )
    state.output.result(report, lambda console: render_purge(console, report))

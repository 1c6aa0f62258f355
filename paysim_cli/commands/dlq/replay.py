"""`paysim dlq replay`: resubmit failed items through the processor or onto the hub, exactly once."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.confirm import confirmed
from paysim_cli.commands.dlq.options import (
    BatchSizeOption,
    BulkYesOption,
    RateOption,
    ReplayableStatus,
    ReplayableStatusOption,
    WorkersOption,
    filtered,
)
from paysim_cli.commands.dlq.render import render_replay
from paysim_cli.commands.interrupted import finish_interruptible
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, TransportOption, validated
from paysim_cli.context import AppContext, app_context
from paysim_cli.dlq.bounds import DEFAULT_BATCH_SIZE, DEFAULT_WORKERS, Route
from paysim_cli.dlq.models import ItemFilter

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.progress import Progress

    from paysim_cli.dlq.models import ReplayReport, ReplayRequest
    from paysim_cli.settings import Settings

EXAMPLES = (
    "paysim dlq replay --code unknown_currency --dry-run",
    "paysim dlq replay --code unknown_currency --yes",
    "paysim dlq replay --since 1h --rate 200 --limit 1000 --yes",
    "paysim dlq replay --via hub --transport local --id 4711",
    "paysim dlq replay --from-file fixed.ndjson --yes",
    "paysim dlq replay --status discarded --id 4711 --yes",
)


@filtered(ReplayableStatusOption, ReplayableStatus.PENDING)
def replay(
    ctx: typer.Context,
    item_filter: ItemFilter,
    via: Annotated[
        Route, typer.Option("--via", help="processor: here, in the item's transaction; hub: republish.")
    ] = Route.PROCESSOR,
    transport: TransportOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say per code what would succeed or fail again; write nothing.")
    ] = False,
    rate: RateOption = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many items.", min=1)] = None,
    batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE,
    workers: WorkersOption = DEFAULT_WORKERS,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Replay the (edited) payloads of `dlq export`'s file, by id."),
    ] = None,
    yes: BulkYesOption = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Replay failed items: each is replayed and recorded, or left as it was.

    SIGINT or SIGTERM stops after the batches in flight: the report is printed, and the exit status is
    130 or 143. Run the same command again to continue.
    """
    from paysim_cli.dlq.models import ReplayRequest

    state = app_context(ctx, json_output)
    request = validated(
        ctx,
        ReplayRequest,
        filter=item_filter,
        via=via,
        transport=transport,
        dry_run=dry_run,
        rate=rate,
        limit=limit,
        batch_size=batch_size,
        workers=workers,
        confirmed=yes,
    )
    report = _replay(state, state.settings.override(database_url=database_url), request, from_file)
    finish_interruptible(
        state.output,
        report,
        lambda console: render_replay(console, report),
        report.interrupted_by,
        hint="run the same replay again to continue: replayed items are no longer pending",
    )


def _replay(
    state: AppContext, settings: Settings, request: ReplayRequest, from_file: Path | None
) -> ReplayReport:
    """The replay, with a progress bar at a terminal (otherwise nothing until the report: stdout stays
    one document) and a prompt where a confirmation is needed."""
    from paysim_cli.dlq.edits import read_edits
    from paysim_cli.dlq.replay import replay_failed_items

    edits = read_edits(from_file) if from_file is not None else None
    view = state.output.progress("replaying failed items") if state.output.interactive else nullcontext()
    with view as bar:
        return replay_failed_items(
            settings,
            request,
            edits=edits,
            on_progress=_progress_callback(bar),
            confirm=lambda question: confirmed(state.output, question, yes=request.confirmed),
        )


def _progress_callback(bar: Progress | None) -> Callable[[int, int], None] | None:
    if bar is None:
        return None
    task = bar.add_task("replaying failed items", total=None)

    def update(attempted: int, matched: int) -> None:
        bar.update(task, completed=attempted, total=matched)

    return update

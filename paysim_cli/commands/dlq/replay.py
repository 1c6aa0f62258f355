"""`paysim dlq replay`: resubmit failed items through the processor or onto the hub, exactly once."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.confirm import confirmed
from paysim_cli.commands.dlq.options import (
    BatchSizeOption,
    CodeOption,
    IdOption,
    PartitionOption,
    RateOption,
    ReplayableStatus,
    RunIdOption,
    SinceOption,
    StageOption,
    TransactionIdOption,
    UntilOption,
    WorkersOption,
    filter_values,
)
from paysim_cli.commands.dlq.render import render_replay
from paysim_cli.commands.interrupted import finish_interruptible
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, TransportOption, validated
from paysim_cli.context import app_context
from paysim_cli.dlq.bounds import CONFIRM_THRESHOLD, DEFAULT_BATCH_SIZE, DEFAULT_WORKERS, Route

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.progress import Progress

EXAMPLES = (
    "paysim dlq replay --code unknown_currency --dry-run",
    "paysim dlq replay --code unknown_currency --yes",
    "paysim dlq replay --since 1h --rate 200 --limit 1000 --yes",
    "paysim dlq replay --via hub --transport local --id 4711",
    "paysim dlq replay --from-file fixed.ndjson --yes",
    "paysim dlq replay --status discarded --id 4711 --yes",
)


def replay(
    ctx: typer.Context,
    status: Annotated[
        ReplayableStatus,
        typer.Option("--status", help="Pending items, or discarded ones (these need --yes)."),
    ] = ReplayableStatus.PENDING,
    codes: CodeOption = None,
    stages: StageOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    partitions: PartitionOption = None,
    transaction_id: TransactionIdOption = None,
    run_id: RunIdOption = None,
    ids: IdOption = None,
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
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help=f"Replay more than {CONFIRM_THRESHOLD} items, or discarded ones, without asking.",
        ),
    ] = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Replay failed items: each is replayed and recorded, or left as it was.

    SIGINT or SIGTERM stops after the batches in flight: the report is printed, and the exit status is
    130 or 143. Run the same command again to continue.
    """
    from paysim_cli.dlq.edits import read_edits
    from paysim_cli.dlq.models import ItemFilter, ReplayRequest
    from paysim_cli.dlq.replay import replay_failed_items

    state = app_context(ctx, json_output)
    values = filter_values(status, codes, stages, since, until, partitions, transaction_id, run_id, ids)
    item_filter = validated(ctx, ItemFilter, **values)
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
    edits = read_edits(from_file) if from_file is not None else None
    # A bar at a terminal; otherwise nothing until the report (stdout stays one document).
    view = state.output.progress("replaying failed items") if state.output.interactive else nullcontext()
    with view as bar:
        report = replay_failed_items(
            state.settings.override(database_url=database_url),
            request,
            edits=edits,
            on_progress=_progress_callback(bar),
            confirm=lambda question: confirmed(state.output, question, yes=yes),
        )
    finish_interruptible(
        state.output,
        report,
        lambda console: render_replay(console, report),
        report.interrupted_by,
        hint="run the same replay again to continue: replayed items are no longer pending",
    )


def _progress_callback(bar: Progress | None) -> Callable[[int, int], None] | None:
    if bar is None:
        return None
    task = bar.add_task("replaying failed items", total=None)

    def update(attempted: int, matched: int) -> None:
        bar.update(task, completed=attempted, total=matched)

    return update

"""`paysim dlq replay`: resubmit failed items through the processor or onto the hub, exactly once."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from paysim_cli.commands.dlq.render import render_replay
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context
from paysim_cli.dlq.bounds import (
    CONFIRM_THRESHOLD,
    DEFAULT_BATCH_SIZE,
    DEFAULT_WORKERS,
    MAX_BATCH_SIZE,
    MAX_WORKERS,
    Route,
)
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.output import to_jsonable

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.progress import Progress

    from paysim_cli.dlq.models import ReplayReport


def replay(
    ctx: typer.Context,
    status: Annotated[
        StatusChoice, typer.Option("--status", help="pending, or discarded (needs --yes).")
    ] = StatusChoice.PENDING,
    code: CodeOption = None,
    stage: StageOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    partition: PartitionOption = None,
    transaction_id: TransactionIdOption = None,
    run_id: RunIdOption = None,
    item_id: IdOption = None,
    via: Annotated[
        Route, typer.Option("--via", help="processor: here, in the item's transaction; hub: republish.")
    ] = Route.PROCESSOR,
    target: Annotated[
        HubTarget | None,
        typer.Option(
            "--target", help="--via hub: local log or eventhub.", show_default="local on the local stack"
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say per code what would succeed or fail again; write nothing.")
    ] = False,
    rate: Annotated[float | None, typer.Option("--rate", help="At most this many items per second.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many items.")] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help=f"Items per transaction, at most {MAX_BATCH_SIZE}.")
    ] = DEFAULT_BATCH_SIZE,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", help=f"Batches in flight at once, each its own transaction (1-{MAX_WORKERS})."
        ),
    ] = DEFAULT_WORKERS,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Replay the (edited) payloads of `dlq export`'s file, by id."),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help=f"Needed for more than {CONFIRM_THRESHOLD} items, or discarded ones."
        ),
    ] = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Replay failed items: each is replayed and recorded, or left as it was; Ctrl-C stops after a batch."""
    from paysim_cli.commands.verify.render import print_verdict
    from paysim_cli.dlq.edits import read_edits
    from paysim_cli.dlq.models import ReplayRequest
    from paysim_cli.dlq.replay import replay_failed_items
    from paysim_cli.simulator.simulation import interrupt_sets

    state = app_context(ctx, json_output)
    item_filter = filter_values(status, code, stage, since, until, partition, transaction_id, run_id, item_id)
    request = build_request(
        ReplayRequest,
        "replay",
        filter=item_filter,
        via=via,
        dry_run=dry_run,
        rate=rate,
        limit=limit,
        batch_size=batch_size,
        workers=workers,
        confirmed=yes,
    )
    edits = read_edits(from_file) if from_file is not None else None
    stop = threading.Event()
    # A bar at a terminal; otherwise nothing until the report (the output stays one document).
    bar_view = state.output.progress("replaying failed items") if state.output.interactive else nullcontext()
    with interrupt_sets(stop), bar_view as bar:
        report = replay_failed_items(
            state.settings.override(database_url=database_url),
            request,
            edits=edits,
            target=target,
            should_stop=stop.is_set,
            sleep=stop.wait,
            on_progress=_progress_callback(bar),
        )
    print_verdict(state.output, report, lambda console: render_replay(console, report), _interrupted(report))


def _progress_callback(bar: Progress | None) -> Callable[[int, int], None] | None:
    if bar is None:
        return None
    task = bar.add_task("replaying failed items", total=None)

    def update(attempted: int, matched: int) -> None:
        bar.update(task, completed=attempted, total=matched)

    return update


class ReplayInterrupted(PaysimError):
    """Exit 130 after the report; in --json mode the report travels in the error document."""

    def __init__(self, report: ReplayReport) -> None:
        super().__init__(
            "interrupted",
            f"replay interrupted after {report.attempted:,} of {report.matched:,} items: each of them is "
            "recorded, the rest are as they were",
            "run the same replay again to continue: replayed items are no longer pending",
            exit_code=ExitCode.INTERRUPTED,
        )
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "report": to_jsonable(self.report)}


def _interrupted(report: ReplayReport) -> ReplayInterrupted | None:
    return ReplayInterrupted(report) if report.interrupted else None

"""`paysim hub peek`: print events without moving any checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.hub.options import ConsumerGroupOption, TargetOption
from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context
from paysim_cli.hub.operations import peek_events
from paysim_cli.hub.targets import HubTarget
from paysim_cli.hub.transport import EventPosition

if TYPE_CHECKING:
    from rich.console import Console


def peek(
    ctx: typer.Context,
    target: TargetOption = HubTarget.LOCAL,
    partition: Annotated[
        list[str] | None,
        typer.Option("--partition", "-p", help="Partition id to read; repeat for several. [default: all]"),
    ] = None,
    start: Annotated[
        str, typer.Option("--from", help="Where to start: start, end, seq:N or time:ISO-8601 (UTC if naive).")
    ] = "start",
    max_events: Annotated[
        int, typer.Option("--max", "-n", min=1, help="At most this many events per partition.")
    ] = 10,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0.0, help="Seconds to wait for events when a partition has none left."),
    ] = 1.0,
    consumer_group: ConsumerGroupOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print events from each partition (or those given), oldest first; no checkpoint is read or moved."""
    state = app_context(ctx, json_output)
    report = peek_events(
        state.settings,
        target,
        position=EventPosition.parse(start),
        partition_ids=partition,
        max_events=max_events,
        wait_seconds=wait,
        consumer_group=consumer_group,
    )

    def render(console: Console) -> None:
        for event in report.events:
            where = f"{event.partition_id}/{event.sequence_number} @{event.enqueued_time.isoformat()}"
            key = f" key={event.partition_key}" if event.partition_key is not None else ""
            console.print(f"{where}{key}  {event.body}", markup=False)
        console.print(f"{len(report.events)} events from {report.hub}, from {report.position}", markup=False)

    state.output.result(report, render)

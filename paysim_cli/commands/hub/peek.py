"""`paysim hub peek`: print events without moving any checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.hub.partition import LegacyPartitionsOption
from paysim_cli.commands.options import (
    ConsumerGroupOption,
    JsonOption,
    LegacyTargetOption,
    TransportOption,
    deprecated_alias,
    transport_for,
)
from paysim_cli.context import app_context
from paysim_cli.output import plural

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim hub peek --max 5",
    "paysim hub peek --partition 0 --from seq:100 --max 20",
    "paysim hub peek --from time:2025-11-28T00:00:00Z --json",
)


def peek(
    ctx: typer.Context,
    transport: TransportOption = None,
    partition: Annotated[
        list[str] | None,
        typer.Option("--partition", help="Partition id to read; repeat for several.", show_default="all"),
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
    legacy_partition: LegacyPartitionsOption = None,
    target: LegacyTargetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print events from each partition (or those given), oldest first; no checkpoint is read or moved."""
    from paysim_cli.hub.operations import peek_events
    from paysim_cli.hub.transport import EventPosition

    state = app_context(ctx, json_output)
    if legacy_partition:
        deprecated_alias(state.output, "-p", "--partition")
    report = peek_events(
        state.settings,
        transport_for(state.settings, state.output, transport, {"--target": target}),
        position=EventPosition.parse(start),
        partition_ids=[*(partition or []), *(legacy_partition or [])] or None,
        max_events=max_events,
        wait_seconds=wait,
        consumer_group=consumer_group,
    )

    def render(console: Console) -> None:
        for event in report.events:
            where = f"{event.partition_id}/{event.sequence_number} @{event.enqueued_time.isoformat()}"
            key = f" key={event.partition_key}" if event.partition_key is not None else ""
            console.print(f"{where}{key}  {event.body}", markup=False)
        console.print(
            f"{plural(len(report.events), 'event')} from {report.hub}, from {report.position}", markup=False
        )

    state.output.result(report, render)

"""`paysim hub send`: publish each line of a file as one event."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.hub.options import TargetOption
from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context
from paysim_cli.hub.operations import send_file
from paysim_cli.hub.targets import HubTarget

if TYPE_CHECKING:
    from rich.console import Console


def send(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Option("--file", "-f", help="File whose lines are the event bodies; - reads standard input."),
    ],
    target: TargetOption = HubTarget.LOCAL,
    partition_key: Annotated[
        str | None,
        typer.Option(
            "--partition-key", "-k", help="Route every event by this key's hash.", show_default=False
        ),
    ] = None,
    partition: Annotated[
        str | None,
        typer.Option("--partition", "-p", help="Send every event to this partition id.", show_default=False),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Publish each line of a file as one event body, byte for byte (without its newline).

    Events go round-robin over the partitions unless --partition-key or --partition says otherwise.
    """
    state = app_context(ctx, json_output)
    report = send_file(state.settings, target, file, partition_key=partition_key, partition_id=partition)

    def render(console: Console) -> None:
        spread = ", ".join(f"{partition_id}: {count}" for partition_id, count in report.by_partition.items())
        console.print(
            f"sent {report.events} events in {report.batches} batches to {report.target} hub {report.hub}"
            + (f" (by partition {spread})" if spread else ""),
            markup=False,
        )

    state.output.result(report, render)

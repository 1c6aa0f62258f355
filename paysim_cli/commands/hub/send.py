"""`paysim hub send`: publish each line of a file as one event."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.hub.partition import LegacyPartitionOption, PartitionOption
from paysim_cli.commands.options import (
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
    "paysim hub send --file events.ndjson",
    "paysim hub send --file - --partition-key merchant-42 --json",
    "paysim hub send --file events.ndjson --partition 0",
)


def send(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Option("--file", "-f", help="File whose lines are the event bodies; - reads standard input."),
    ],
    transport: TransportOption = None,
    partition_key: Annotated[
        str | None,
        typer.Option(
            "--partition-key", "-k", help="Route every event by this key's hash.", show_default=False
        ),
    ] = None,
    partition: PartitionOption = None,
    legacy_partition: LegacyPartitionOption = None,
    target: LegacyTargetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Publish each line of a file as one event body, byte for byte (without its newline).

    Events go round-robin over the partitions unless --partition-key or --partition says otherwise.
    """
    from paysim_cli.hub.operations import send_file

    state = app_context(ctx, json_output)
    if legacy_partition is not None:
        deprecated_alias(state.output, "-p", "--partition")
    report = send_file(
        state.settings,
        transport_for(state.settings, state.output, transport, {"--target": target}),
        file,
        partition_key=partition_key,
        partition_id=partition or legacy_partition,
    )

    def render(console: Console) -> None:
        spread = ", ".join(f"{partition_id}: {count}" for partition_id, count in report.by_partition.items())
        console.print(
            f"sent {plural(report.events, 'event')} in {plural(report.batches, 'batch')} to {report.target} "
            f"hub {report.hub}" + (f" (by partition {spread})" if spread else ""),
            markup=False,
        )

    state.output.result(report, render)

"""`paysim hub info`: partitions, their sequence ranges, and a consumer group's lag."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.options import (
    ConsumerGroupOption,
    JsonOption,
    LegacyTargetOption,
    TransportOption,
    transport_for,
)
from paysim_cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim hub info",
    "paysim hub info --consumer-group pipeline --json",
    "paysim --env dev hub info",
)


def info(
    ctx: typer.Context,
    transport: TransportOption = None,
    consumer_group: ConsumerGroupOption = None,
    target: LegacyTargetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show each partition's sequence range, last enqueued event, and the consumer group's lag."""
    from paysim_cli.hub.operations import describe_hub

    state = app_context(ctx, json_output)
    chosen = transport_for(state.settings, state.output, transport, {"--target": target})
    report = describe_hub(state.settings, chosen, consumer_group)

    def render(console: Console) -> None:
        from rich.table import Table

        table = Table(title=f"{report.target} hub {report.hub}, consumer group {report.consumer_group}")
        for column in ("partition", "sequence numbers", "last offset", "last enqueued", "checkpoint", "lag"):
            table.add_column(column)
        for partition in report.partitions:
            held = f"{partition.beginning_sequence_number}..{partition.last_enqueued_sequence_number}"
            table.add_row(
                partition.partition_id,
                "empty" if partition.is_empty else held,
                str(partition.last_enqueued_offset),
                _shown(partition.last_enqueued_time, "never"),
                _shown(partition.checkpoint_sequence_number, "none"),
                _shown(partition.lag, "unknown"),
            )
        console.print(table)
        console.print(
            f"total lag: {_shown(report.total_lag, 'unknown (checkpoints live with the pipeline)')}"
        )

    state.output.result(report, render)


def _shown(value: object, missing: str) -> str:
    return missing if value is None else str(value)

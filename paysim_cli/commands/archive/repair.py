"""`paysim archive repair`: re-archive the committed events the archive misses, from the hub."""

from __future__ import annotations

import typer

from paysim_cli.commands.archive.options import (
    DeepOption,
    FromOption,
    PartitionOption,
    ToOption,
    archive_scope,
)
from paysim_cli.commands.options import (
    ConsumerGroupOption,
    DatabaseUrlOption,
    JsonOption,
    LegacySourceOption,
    TransportOption,
    transport_for,
)
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim archive repair",
    "paysim archive repair --partition 1 --partition 3 --json",
)


def repair(
    ctx: typer.Context,
    transport: TransportOption = None,
    consumer_group: ConsumerGroupOption = None,
    partition: PartitionOption = None,
    from_sequence: FromOption = None,
    to_sequence: ToOption = None,
    deep: DeepOption = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
    source: LegacySourceOption = None,
) -> None:
    """Write the gaps' events again, read from the hub while it holds them; exit 7 if gaps remain."""
    from paysim_cli.commands.archive.render import render_repair
    from paysim_cli.reconcile.archive import repair_archive

    state = app_context(ctx, json_output)
    chosen = transport_for(state.settings, state.output, transport, {"--source": source})
    scope = archive_scope(chosen, consumer_group, partition, from_sequence, to_sequence, deep)
    report = repair_archive(state.settings.override(database_url=database_url), scope)
    state.output.outcome(report, lambda console: render_repair(console, report), report.failure())

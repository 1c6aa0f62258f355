"""`paysim archive check`: does the raw-events archive hold every event the pipeline committed?"""

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
    "paysim archive check",
    "paysim archive check --partition 1 --from-sequence 1000 --deep --json",
    "paysim archive check --transport eventhub --consumer-group pipeline",
)


def check(
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
    """List, per partition, the committed sequence ranges the archive misses; exit 7 when any."""
    from paysim_cli.commands.archive.render import render_archive
    from paysim_cli.reconcile.archive import check_archive

    state = app_context(ctx, json_output)
    chosen = transport_for(state.settings, state.output, transport, {"--source": source})
    scope = archive_scope(chosen, consumer_group, partition, from_sequence, to_sequence, deep)
    report = check_archive(state.settings.override(database_url=database_url), scope)
    state.output.outcome(report, lambda console: render_archive(console, report), report.failure())

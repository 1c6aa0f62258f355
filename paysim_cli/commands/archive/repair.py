"""`paysim archive repair`: re-archive the committed events the archive misses, from the hub."""

from __future__ import annotations

import typer

from paysim_cli.commands.archive.options import (
    DeepOption,
    FromOption,
    PartitionOption,
    SourceOption,
    ToOption,
    archive_scope,
)
from paysim_cli.commands.hub.options import ConsumerGroupOption
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context
from paysim_cli.hub.targets import HubTarget


def repair(
    ctx: typer.Context,
    source: SourceOption = HubTarget.LOCAL,
    consumer_group: ConsumerGroupOption = None,
    partition: PartitionOption = None,
    from_sequence: FromOption = None,
    to_sequence: ToOption = None,
    deep: DeepOption = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the gaps' events again, read from the hub while it holds them; exit 7 if gaps remain."""
    from paysim_cli.commands.archive.render import render_repair
    from paysim_cli.commands.verify.render import print_verdict
    from paysim_cli.reconcile.archive import repair_archive

    state = app_context(ctx, json_output)
    scope = archive_scope(source, consumer_group, partition, from_sequence, to_sequence, deep)
    report = repair_archive(state.settings.override(database_url=database_url), scope)
    print_verdict(state.output, report, lambda console: render_repair(console, report), report.failure())

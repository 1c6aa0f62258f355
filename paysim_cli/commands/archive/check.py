"""`paysim archive check`: does the raw-events archive hold every event the pipeline committed?"""

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


def check(
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
    """List, per partition, the committed sequence ranges the archive misses; exit 7 when any."""
    from paysim_cli.commands.archive.render import render_archive
    from paysim_cli.commands.verify.render import print_verdict
    from paysim_cli.reconcile.archive import check_archive

    state = app_context(ctx, json_output)
    scope = archive_scope(source, consumer_group, partition, from_sequence, to_sequence, deep)
    report = check_archive(state.settings.override(database_url=database_url), scope)
    print_verdict(state.output, report, lambda console: render_archive(console, report), report.failure())

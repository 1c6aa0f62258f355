"""`paysim dlq export`: failed items as NDJSON, to fix their payloads and `dlq replay --from-file`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paysim_cli.commands.dlq.options import StatusOption, filtered
from paysim_cli.commands.dlq.render import render_export
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, validated
from paysim_cli.context import app_context
from paysim_cli.dlq.models import ItemFilter

EXAMPLES = (
    "paysim dlq export --code unknown_currency --output items.ndjson",
    "paysim dlq export --status all --since 7d -o week.ndjson --overwrite",
)


@filtered(StatusOption)
def export(
    ctx: typer.Context,
    item_filter: ItemFilter,
    output: Annotated[Path, typer.Option("--output", "-o", help="The NDJSON file to write.")],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the file if it exists.")] = False,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write one JSON document per matching item: id, code, message, payload as text or base64."""
    from paysim_cli.dlq.edits import export_failed_items
    from paysim_cli.dlq.models import ExportRequest

    state = app_context(ctx, json_output)
    request = validated(ctx, ExportRequest, filter=item_filter, output=output, overwrite=overwrite)
    report = export_failed_items(state.settings.override(database_url=database_url), request)
    state.output.result(report, lambda console: render_export(console, report))

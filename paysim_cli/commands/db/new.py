"""`paysim db new`."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.db.options import SqlDirOption
from paysim_cli.commands.db.render import new_renderer
from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim db new add_merchant_index",
    "paysim db new backfill_channels --sql-dir migrations/",
)


def new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="snake_case name of the change, e.g. add_merchant_index.")],
    sql_dir: SqlDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Scaffold the next NNNN_name.up.sql / .down.sql pair in the project's sql/."""
    from paysim_cli import migrations

    state = app_context(ctx, json_output)
    report = migrations.new(state.settings, name, sql_dir=sql_dir)
    state.output.result(report, new_renderer(report))

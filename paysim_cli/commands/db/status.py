"""`paysim db status`."""

from __future__ import annotations

import typer

from paysim_cli.commands.db.options import SqlDirOption
from paysim_cli.commands.db.render import status_renderer
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim db status",
    "paysim db status --database-url postgresql://paysim@db.example.com/paysim --json",
)


def status(
    ctx: typer.Context,
    database_url: DatabaseUrlOption = None,
    sql_dir: SqlDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show applied and pending migrations, and drift between the database and the files."""
    from paysim_cli import migrations

    state = app_context(ctx, json_output)
    report = migrations.status(state.settings.override(database_url=database_url), sql_dir=sql_dir)
    state.output.result(report, status_renderer(report))

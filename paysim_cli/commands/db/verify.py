"""`paysim db verify`."""

from __future__ import annotations

import typer

from paysim_cli.commands.db.options import SqlDirOption
from paysim_cli.commands.db.render import verify_renderer
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim db verify",
    "paysim --env dev db verify --json",
)


def verify(
    ctx: typer.Context,
    database_url: DatabaseUrlOption = None,
    sql_dir: SqlDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check for drift, that every object the applied migrations create exists, and the verify scripts."""
    from paysim_cli import migrations

    state = app_context(ctx, json_output)
    report = migrations.verify(state.settings.override(database_url=database_url), sql_dir=sql_dir)
    state.output.result(report, verify_renderer(report))

"""`paysim db migrate`."""

from __future__ import annotations

import typer

from paysim_cli.commands.db.options import DryRunOption, LockTimeoutOption, SqlDirOption, TargetOption
from paysim_cli.commands.db.render import plan_renderer
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context
from paysim_cli.migrations import DEFAULT_LOCK_TIMEOUT_SECONDS

EXAMPLES = (
    "paysim db migrate",
    "paysim db migrate --to 3 --dry-run",
    "paysim --env dev db migrate --json",
)


def migrate(
    ctx: typer.Context,
    to: TargetOption = None,
    dry_run: DryRunOption = False,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT_SECONDS,
    database_url: DatabaseUrlOption = None,
    sql_dir: SqlDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Apply pending migrations in order (up to --to), each in its own transaction."""
    from paysim_cli import migrations

    state = app_context(ctx, json_output)
    report = migrations.upgrade(
        state.settings.override(database_url=database_url),
        to,
        dry_run=dry_run,
        sql_dir=sql_dir,
        lock_timeout=lock_timeout,
    )
    state.output.result(report, plan_renderer(report))

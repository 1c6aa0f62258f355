"""`paysim db rollback`."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.db.options import DryRunOption, LockTimeoutOption, SqlDirOption, TargetOption
from paysim_cli.commands.db.render import plan_renderer
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.context import app_context
from paysim_cli.migrations import DEFAULT_LOCK_TIMEOUT_SECONDS


def rollback(
    ctx: typer.Context,
    steps: Annotated[
        int | None, typer.Option("--steps", min=1, help="How many migrations to revert.")
    ] = None,
    to: TargetOption = None,
    dry_run: DryRunOption = False,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT_SECONDS,
    database_url: DatabaseUrlOption = None,
    sql_dir: SqlDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revert the last --steps N migrations, or all after --to V (0: all), newest first."""
    from paysim_cli import migrations

    state = app_context(ctx, json_output)
    report = migrations.downgrade(
        state.settings.override(database_url=database_url),
        steps=steps,
        target=to,
        dry_run=dry_run,
        sql_dir=sql_dir,
        lock_timeout=lock_timeout,
    )
    state.output.result(report, plan_renderer(report))

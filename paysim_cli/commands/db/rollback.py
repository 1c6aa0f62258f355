"""`paysim db rollback`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.confirm import confirmed
from paysim_cli.commands.db.options import DryRunOption, LockTimeoutOption, SqlDirOption, TargetOption
from paysim_cli.commands.db.render import plan_renderer
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, YesOption
from paysim_cli.context import app_context
from paysim_cli.migrations import DEFAULT_LOCK_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from paysim_cli.migrations.models import PlanReport


EXAMPLES = (
    "paysim db rollback --steps 1",
    "paysim db rollback --to 0 --dry-run",
    "paysim --env staging db rollback --steps 1 --yes",
)


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
    yes: YesOption = False,
    rollback_production: Annotated[
        bool, typer.Option(help="Also required, with --yes, to roll back production's database.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Revert the last --steps N migrations, or all after --to V (0: all), newest first.

    Reverting drops the tables those migrations created, with their data: outside --env local it
    asks first (or needs --yes), and production also needs --rollback-production.
    """
    from paysim_cli import migrations

    state = app_context(ctx, json_output)
    settings = state.settings.override(database_url=database_url)
    revert = partial(
        migrations.downgrade, settings, steps=steps, target=to, sql_dir=sql_dir, lock_timeout=lock_timeout
    )
    sure = dry_run or settings.is_local or confirmed(state.output, _question(revert(dry_run=True)), yes=yes)
    report = revert(dry_run=dry_run, confirmed=sure, production_confirmed=rollback_production)
    state.output.result(report, plan_renderer(report))


def _question(planned: PlanReport) -> str:
    names = ", ".join(f"{step.version:04d}_{step.name}" for step in planned.steps) or "nothing"
    return f"Revert {names} on {planned.database}, dropping what they created?"

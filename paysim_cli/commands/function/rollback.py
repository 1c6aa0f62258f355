"""`paysim function rollback`: deploy an earlier release again, with the settings it ran with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.function.confirmation import confirmation
from paysim_cli.commands.function.options import EnvOption, RollbackProductionOption, function_context
from paysim_cli.commands.options import JsonOption, YesOption

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim function rollback --env local",
    "paysim function rollback --env dev --to 4f1c2a9b0d3e-12a93e62 --yes",
    "paysim function rollback --env production --yes --rollback-production",
)


def rollback(
    ctx: typer.Context,
    to: Annotated[
        str | None,
        typer.Option("--to", help="The release to go back to. [default: the one live before the active one]"),
    ] = None,
    env: EnvOption = None,
    yes: YesOption = False,
    rollback_production: RollbackProductionOption = False,
    json_output: JsonOption = False,
) -> None:
    """Redeploy a stored release (no new build) and wait until the host runs it."""
    from paysim_cli.deploy.service import rollback as roll_back

    state, settings = function_context(ctx, json_output, env)
    confirm = confirmation(state, settings, yes, "roll back")
    report = roll_back(
        settings,
        to,
        on_status=state.output.status,
        confirm=confirm,
        production_confirmed=rollback_production,
    )

    def render(console: Console) -> None:
        console.print(
            f"rolled {report.env} back to release {report.version} (was {report.previous or 'none'})",
            markup=False,
        )
        if report.running_after_seconds is not None:
            console.print(f"  the host runs it since {report.running_after_seconds:g} s", markup=False)
        else:
            console.print("  no host is running: the next `paysim pipeline run` runs it", markup=False)

    state.output.result(report, render)

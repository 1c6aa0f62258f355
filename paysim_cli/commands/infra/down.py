"""`paysim infra down`: destroy an environment; needs --yes, and production needs --destroy-production too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.confirm import confirmed
from paysim_cli.commands.infra.options import EnvOption, RootOption, infra_context
from paysim_cli.commands.infra.ui import terraform_progress
from paysim_cli.commands.options import JsonOption, YesOption

if TYPE_CHECKING:
    from rich.console import Console

DestroyProductionOption = Annotated[
    bool,
    typer.Option("--destroy-production", help="Also required, with --yes, to destroy production."),
]


EXAMPLES = (
    "paysim infra down --env dev --yes",
    "paysim infra down --env production --yes --destroy-production",
)


def down(
    ctx: typer.Context,
    env: EnvOption = None,
    root: RootOption = None,
    yes: YesOption = False,
    destroy_production: DestroyProductionOption = False,
    json_output: JsonOption = False,
) -> None:
    """Destroy every resource of the environment and forget its saved plan and connection profile."""
    from paysim_cli import infra

    state, settings = infra_context(ctx, json_output, env, root)
    sure = confirmed(state.output, f"Destroy every resource of {settings.env}?", yes=yes)
    # Refused before terraform starts, so the progress line never shows for a refusal.
    infra.check_destroy_confirmed(settings, confirmed=sure, production_confirmed=destroy_production)
    with terraform_progress(state.output, f"terraform destroy ({settings.env})"):
        report = infra.destroy(settings, confirmed=sure, production_confirmed=destroy_production)

    def render(console: Console) -> None:
        console.print(f"destroyed {report.env}: {report.destroyed} resources")
        if report.removed_profile:
            console.print(f"removed the connection profile {report.removed_profile}")

    state.output.result(report, render)

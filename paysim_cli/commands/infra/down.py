"""`paysim infra down`: destroy an environment; needs --yes, and production needs --destroy-production too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli import infra
from paysim_cli.commands.infra.options import EnvOption, RootOption, infra_context
from paysim_cli.commands.infra.ui import terraform_progress
from paysim_cli.commands.options import JsonOption, YesOption

if TYPE_CHECKING:
    from rich.console import Console

DestroyProductionOption = Annotated[
    bool,
    typer.Option("--destroy-production", help="Also required, with --yes, to destroy production."),
]


def down(
    ctx: typer.Context,
    env: EnvOption = None,
    root: RootOption = None,
    yes: YesOption = False,
    destroy_production: DestroyProductionOption = False,
    json_output: JsonOption = False,
) -> None:
    """Destroy every resource of the environment and forget its saved plan and connection profile."""
    state, settings = infra_context(ctx, json_output, env, root)
    with terraform_progress(state.output, f"terraform destroy ({settings.env})"):
        report = infra.destroy(settings, confirmed=yes, production_confirmed=destroy_production)

    def render(console: Console) -> None:
        console.print(f"destroyed {report.env}: {report.destroyed} resources")
        if report.removed_profile:
            console.print(f"removed the connection profile {report.removed_profile}")

    state.output.result(report, render)

"""`paysim infra output`: write the environment's connection profile for `paysim --env ENV`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.infra.options import EnvOption, RootOption, infra_context
from paysim_cli.commands.infra.ui import terraform_progress
from paysim_cli.commands.options import JsonOption

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim infra output --env dev",
    "paysim infra output --env dev --json",
)


def output(
    ctx: typer.Context,
    env: EnvOption = None,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the environment's endpoints and names (no secrets) where every command reads them for --env."""
    from paysim_cli import infra

    state, settings = infra_context(ctx, json_output, env, root)
    with terraform_progress(state.output, f"terraform output ({settings.env})"):
        report = infra.write_connection_profile(settings)

    def render(console: Console) -> None:
        from rich.table import Table

        table = Table(title=f"connection profile ({report.env})")
        table.add_column("setting")
        table.add_column("value")
        for name, value in sorted(report.profile.items()):
            table.add_row(name, str(value))
        console.print(table)
        console.print(f"written: {report.path}")

    state.output.result(report, render)

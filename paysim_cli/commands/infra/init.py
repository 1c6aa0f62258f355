"""`paysim infra init`: initialise an environment's Terraform root and its remote state backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.infra.options import EnvOption, RootOption, infra_context
from paysim_cli.commands.infra.ui import terraform_progress
from paysim_cli.commands.options import JsonOption

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = ("paysim infra init --env dev",)


def init(
    ctx: typer.Context,
    env: EnvOption = None,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """Download providers and modules, and connect the environment's remote state (backend.hcl)."""
    from paysim_cli import infra

    state, settings = infra_context(ctx, json_output, env, root)
    with terraform_progress(state.output, f"terraform init ({settings.env})"):
        report = infra.init(settings)

    def render(console: Console) -> None:
        backend = f" with backend config {report.backend_config}" if report.backend_config else ""
        console.print(f"initialised {report.env}: {report.directory}{backend}")
        console.print(f"next: paysim infra plan --env {report.env}")

    state.output.result(report, render)

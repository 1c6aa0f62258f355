"""`paysim infra plan`: save a plan for an environment and show what it would change."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.infra.options import EnvOption, RootOption, infra_context
from paysim_cli.commands.infra.ui import render_plan_summary, terraform_progress
from paysim_cli.commands.options import JsonOption

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim infra plan --env dev",
    "paysim infra plan --env staging --json",
)


def plan(
    ctx: typer.Context,
    env: EnvOption = None,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """Save a plan (replacing any earlier one) and summarise it by resource type; `up` applies exactly it."""
    from paysim_cli import infra

    state, settings = infra_context(ctx, json_output, env, root)
    with terraform_progress(state.output, f"terraform plan ({settings.env})"):
        report = infra.plan(settings)

    def render(console: Console) -> None:
        render_plan_summary(console, f"paysim infra plan ({report.env})", report.summary)
        console.print(f"saved: {report.plan_file}")
        console.print(f"apply exactly this plan: paysim infra up --env {report.env}")

    state.output.result(report, render)

"""`paysim infra up`: apply exactly the saved plan, after confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.confirm import confirmed
from paysim_cli.commands.infra.options import EnvOption, RootOption, infra_context
from paysim_cli.commands.infra.ui import render_plan_summary, terraform_progress
from paysim_cli.commands.options import JsonOption, YesOption
from paysim_cli.confirmation import require_confirmed

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim infra up --env dev",
    "paysim infra up --env dev --yes --json",
)


def up(
    ctx: typer.Context,
    env: EnvOption = None,
    root: RootOption = None,
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Apply exactly the plan `paysim infra plan` saved; refuses if there is none or it is stale."""
    from paysim_cli import infra

    state, settings = infra_context(ctx, json_output, env, root)
    saved = infra.read_saved_plan(settings)
    if not yes and state.output.stdin_is_tty and not state.output.json_mode:
        render_plan_summary(state.output.err_console, f"saved plan ({saved.env})", saved.summary)
    require_confirmed(
        confirmed(state.output, f"Apply this plan to {saved.env}?", yes=yes),
        f"`paysim infra up` changes the resources of {saved.env}: {saved.summary.headline()}",
        "add --yes to apply the saved plan where nobody can answer a prompt (CI)",
    )
    with terraform_progress(state.output, f"terraform apply ({settings.env})"):
        report = infra.apply_saved_plan(settings)

    def render(console: Console) -> None:
        console.print(
            f"applied to {report.env}: {report.added} added, {report.changed} changed, "
            f"{report.destroyed} destroyed"
        )
        console.print(f"write the connection profile: paysim infra output --env {report.env}")

    state.output.result(report, render)

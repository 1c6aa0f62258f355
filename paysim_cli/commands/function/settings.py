"""`paysim function settings diff | apply`: the environment's release settings file against the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.function.confirmation import confirmation
from paysim_cli.commands.function.options import (
    ApplyProductionOption,
    EnvOption,
    FunctionDirOption,
    function_context,
)
from paysim_cli.commands.help import group, verb
from paysim_cli.commands.options import JsonOption, YesOption

if TYPE_CHECKING:
    from rich.console import Console

app = group("The release settings (settings/ENV.json) against the app's: diff, apply.")
DIFF_EXAMPLES = ("paysim function settings diff", "paysim function settings diff --env dev --json")
APPLY_EXAMPLES = (
    "paysim function settings apply --env local",
    "paysim function settings apply --env dev --yes",
    "paysim function settings apply --env production --yes --apply-production",
)


def diff(
    ctx: typer.Context,
    env: EnvOption = None,
    function_dir: FunctionDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """What `settings apply` would add, change and remove (secret-looking values masked)."""
    from paysim_cli.commands.function.render import render_diff
    from paysim_cli.deploy.service import settings_diff

    state, settings = function_context(ctx, json_output, env)
    report = settings_diff(settings, function_dir)

    def render(console: Console) -> None:
        render_diff(console, report)

    state.output.result(report, render)


def apply(
    ctx: typer.Context,
    env: EnvOption = None,
    function_dir: FunctionDirOption = None,
    yes: YesOption = False,
    apply_production: ApplyProductionOption = False,
    json_output: JsonOption = False,
) -> None:
    """Apply the settings file to the running release (recorded in the release history)."""
    from paysim_cli.commands.function.render import render_diff
    from paysim_cli.deploy.service import apply_settings

    state, settings = function_context(ctx, json_output, env)
    confirm = confirmation(state, settings, yes, "apply release settings")
    report = apply_settings(
        settings,
        function_dir,
        on_status=state.output.status,
        confirm=confirm,
        production_confirmed=apply_production,
    )

    def render(console: Console) -> None:
        console.print(f"applied to {settings.env}:", markup=False)
        render_diff(console, report)

    state.output.result(report, render)


verb(app, "diff", diff, *DIFF_EXAMPLES)
verb(app, "apply", apply, *APPLY_EXAMPLES)

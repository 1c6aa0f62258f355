"""Options the `paysim function` verbs share, declared once, and the settings they resolve to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paysim_cli.context import AppContext, app_context
from paysim_cli.settings import Settings, resolve_settings

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", help="Environment to deploy to; overrides the global --env.", show_default=False
    ),
]
FunctionDirOption = Annotated[
    Path | None,
    typer.Option(
        "--function-dir",
        help="The Function app, with settings/ENV.json beside it. [default: the project's function/]",
        file_okay=False,
        show_default=False,
    ),
]
RemoteBuildOption = Annotated[
    bool,
    typer.Option(
        "--remote-build",
        help="Ship the sources only and let the service install requirements.txt (no vendored wheels).",
    ),
]
DeployProductionOption = Annotated[
    bool, typer.Option("--deploy-production", help="Also required, with --yes, to deploy to production.")
]
RollbackProductionOption = Annotated[
    bool, typer.Option("--rollback-production", help="Also required, with --yes, to roll production back.")
]
ApplyProductionOption = Annotated[
    bool,
    typer.Option("--apply-production", help="Also required, with --yes, to change production's settings."),
]


def function_context(ctx: typer.Context, json_output: bool, env: str | None) -> tuple[AppContext, Settings]:
    """The invocation's context, and the settings of the environment asked for: another environment's
    settings are resolved again (its profile and paysim.toml table), with the root's --config."""
    state = app_context(ctx, json_output)
    if env is None or env == state.settings.env:
        return state, state.settings
    config_file = ctx.find_root().params.get("config_file")
    return state, resolve_settings(
        {"env": env, "state_dir": state.settings.state_dir}, config_file=config_file
    )

"""Options every `paysim infra` verb takes, declared once, and the settings they resolve to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paysim_cli.context import AppContext, app_context
from paysim_cli.settings import Settings

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="Environment to act on (a directory under ROOT/environments); overrides the global --env.",
        show_default=False,
    ),
]
RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Terraform root holding modules/ and environments/ (also the terraform_root setting). "
        "[default: terraform]",
        file_okay=False,
        show_default=False,
    ),
]


def infra_context(
    ctx: typer.Context, json_output: bool, env: str | None, root: Path | None
) -> tuple[AppContext, Settings]:
    """The invocation's context, and its settings with the command-level --env and --root applied."""
    from paysim_cli.infra.workspace import resolve_workspace

    state = app_context(ctx, json_output)
    settings = state.settings.override(env=env, terraform_root=root)
    resolve_workspace(settings)  # a wrong root or environment fails before terraform starts
    return state, settings

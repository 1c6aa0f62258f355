"""`paysim profiles validate [NAME|PATH]...`: check profiles; the first broken one is an error at its line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim profiles validate",
    "paysim profiles validate chaos ./my-profile.yaml",
)


def validate_profiles(
    ctx: typer.Context,
    profiles: Annotated[
        list[str] | None, typer.Argument(help="Profile names or .yaml paths. [default: every known profile]")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Validate profiles; exit 3 with the file, line and field of the first problem."""
    from paysim_cli.simulator import profile_store

    state = app_context(ctx, json_output)
    checked = profile_store.validate_profiles(state.settings, profiles or [])

    def render(console: Console) -> None:
        for profile in checked:
            console.print(f"ok  {profile.name}  ({profile.path})", markup=False)

    state.output.result({"profiles": checked}, render)

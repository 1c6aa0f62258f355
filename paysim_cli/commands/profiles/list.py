"""`paysim profiles list`: every profile found by name, bundled or in the state directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim profiles list",
    "paysim profiles list --json",
)


def list_profiles(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the load profiles, whether each is valid, and what it simulates."""
    from paysim_cli.simulator import profile_store

    state = app_context(ctx, json_output)
    profiles = profile_store.list_profiles(state.settings)

    def render(console: Console) -> None:
        from rich.table import Table

        table = Table(title="load profiles")
        for column in ("name", "origin", "valid", "description"):
            table.add_column(column)
        for profile in profiles:
            table.add_row(
                profile.name,
                profile.origin,
                "yes" if profile.valid else "no",
                profile.description if profile.valid else str(profile.error),
            )
        console.print(table)

    state.output.result({"profiles": profiles}, render)

"""`paysim profiles show NAME`: a profile with its defaults filled in, and the plan it makes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim profiles show black_friday",
    "paysim profiles show ./my-profile.yaml --json",
)


def show_profile(
    ctx: typer.Context,
    profile: Annotated[
        str, typer.Argument(help="Profile name (see `paysim profiles list`) or path to a .yaml.")
    ],
    json_output: JsonOption = False,
) -> None:
    """Show a profile as validated (defaults filled in), with its duration, events and peak rate."""
    from paysim_cli.simulator import profile_store

    state = app_context(ctx, json_output)
    detail = profile_store.show_profile(state.settings, profile)

    def render(console: Console) -> None:
        import yaml

        console.print(f"[bold]{detail.name}[/bold] ({detail.origin}: {detail.path})")
        console.print(
            f"plan: {detail.planned_events:,} events over {detail.planned_duration_seconds:,.0f} s, "
            f"peak {detail.peak_rate:,.0f} events/s (diurnal curve at the current hour)"
        )
        console.print(yaml.safe_dump(detail.profile.model_dump(mode="json"), sort_keys=False), markup=False)

    state.output.result(detail, render)

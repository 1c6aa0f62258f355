"""What the root callback resolves once and every command reads: settings and output."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from paysim_cli.output import Output
from paysim_cli.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    output: Output
    traceback: bool = False


def app_context(ctx: typer.Context, json_output: bool = False) -> AppContext:
    """The invocation's context; a command-level `--json` switches output to JSON."""
    root = ctx.find_root()
    state = root.obj
    if not isinstance(state, AppContext):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("paysim commands must run under the root app")
    if json_output:
        state.output.json_mode = True
    return state

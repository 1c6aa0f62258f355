"""`paysim function status`: the active release, the host, its functions, and settings drift."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.function.options import EnvOption, FunctionDirOption, function_context
from paysim_cli.commands.options import JsonOption

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = ("paysim function status", "paysim function status --env dev --json")


def status(
    ctx: typer.Context,
    env: EnvOption = None,
    function_dir: FunctionDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """What runs where: the active release, the host's state and functions, drifted and pending settings."""
    from paysim_cli.commands.function.render import render_diff
    from paysim_cli.deploy.overview import function_status

    state, settings = function_context(ctx, json_output, env)
    report = function_status(settings, function_dir)

    def render(console: Console) -> None:
        since = "" if report.active_since is None else f" since {report.active_since:%Y-%m-%d %H:%M:%S}"
        console.print(f"{report.env}: active release {report.active or 'none'}{since}", markup=False)
        if report.host is not None:
            console.print(f"  host: {report.host.state}", markup=False)
            console.print(f"  functions: {', '.join(report.host.functions) or 'none'}", markup=False)
        else:
            console.print(f"  host: unknown ({report.host_error})", markup=False)
        if report.drift.empty:
            console.print("  settings drift: none", markup=False)
        else:
            console.print("  settings drift (changed outside paysim since the deploy):", markup=False)
            render_diff(console, report.drift)
        render_diff(console, report.pending)

    state.output.result(report, render)

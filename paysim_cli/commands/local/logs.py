"""`paysim local logs`: the last lines of the local services' logs, or follow them."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import AppContext, app_context
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.local.logs import Component
from paysim_cli.output import printable

if TYPE_CHECKING:
    from rich.console import Console

EXAMPLES = (
    "paysim local logs",
    "paysim local logs postgres --lines 100",
    "paysim local logs azurite amqp --follow",
)


def logs(
    ctx: typer.Context,
    components: Annotated[
        list[Component] | None,
        typer.Argument(help="Which services' logs: postgres, azurite, amqp.", show_default="all three"),
    ] = None,
    lines: Annotated[
        int, typer.Option("--lines", "-n", help="Lines to show from the end of each.", min=0)
    ] = 20,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until SIGINT or SIGTERM.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Show the end of each local service's log (under the state directory); --follow keeps reading."""
    from paysim_cli.local.logs import tail_logs

    state = app_context(ctx, json_output)
    if follow and state.output.json_mode:
        raise PaysimError(
            "conflicting_options",
            "--follow prints lines as they come; --json prints one document",
            "drop one of them (`--json` without --follow gives the last --lines of each log)",
            exit_code=ExitCode.USAGE,
        )
    chosen = list(dict.fromkeys(components or []))
    report = tail_logs(state.settings, chosen, lines)

    def render(console: Console) -> None:
        for log in report:
            console.print(
                f"==> {log.component}: {log.path}{'' if log.exists else ' (not written yet)'}", markup=False
            )
            for line in log.lines:
                console.out(f"{log.component} | {printable(line)}", highlight=False)

    state.output.result({"logs": report}, render)
    if follow:
        _follow(state, chosen)


def _follow(state: AppContext, components: list[Component]) -> NoReturn:
    """Print the logs' new lines until a signal stops it: following ends no other way."""
    from paysim_cli.interrupts import Interrupted, Interruption, stop_on_signals
    from paysim_cli.local.logs import follow_logs

    with stop_on_signals(Interruption()) as interruption:
        follow_logs(
            state.settings,
            components,
            lambda component, line: state.output.console.out(
                f"{component} | {printable(line)}", highlight=False
            ),
            interruption.is_set,
        )
    raise Interrupted(interruption.signum or signal.SIGINT)

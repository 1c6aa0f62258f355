"""The root `paysim` app: global options, settings resolution, command groups, the one error boundary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from paysim_cli import __version__
from paysim_cli.commands import (
    config,
    db,
    demo,
    function,
    health,
    hub,
    infra,
    local,
    metrics,
    pipeline,
    profiles,
    simulate,
    verify,
)
from paysim_cli.context import AppContext
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.output import Output


class PaysimGroup(TyperGroup):
    """The root group: the only place a PaysimError becomes an exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context; typer.Context subclasses it
        try:
            return super().invoke(ctx)
        except PaysimError as error:
            if _wants_traceback(ctx):
                raise
            _output_for(ctx).error(error)
            raise typer.Exit(int(error.exit_code)) from error
        except KeyboardInterrupt as interrupt:
            _output_for(ctx).error(PaysimError("interrupted", "interrupted", None))
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from interrupt
        except (typer.Exit, typer.Abort, TyperException):
            raise  # exits and usage errors: Click reports those itself (usage errors exit 2)
        except Exception as error:  # the root boundary: name the cause, offer --traceback
            if _wants_traceback(ctx):
                raise
            _output_for(ctx).error(
                PaysimError(
                    "internal_error",
                    f"{type(error).__name__}: {error}",
                    "rerun with --traceback for the stack trace, and report it",
                )
            )
            raise typer.Exit(int(ExitCode.FAILURE)) from error


def _wants_traceback(ctx: Any) -> bool:
    state = ctx.obj
    return bool(state.traceback) if isinstance(state, AppContext) else bool(ctx.params.get("traceback"))


def _output_for(ctx: Any) -> Output:
    state = ctx.obj
    if isinstance(state, AppContext):
        return state.output
    return Output(json_mode=bool(ctx.params.get("json_output")) or "--json" in sys.argv[1:])


app = typer.Typer(
    name="paysim",
    cls=PaysimGroup,
    help="Provision, migrate, deploy, drive and verify the Azure payment-events pipeline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config.app, name="config")
app.add_typer(local.app, name="local")
app.add_typer(profiles.app, name="profiles")
app.command("simulate")(simulate.simulate)
app.add_typer(db.app, name="db")
app.add_typer(hub.app, name="hub")
app.add_typer(infra.app, name="infra")
app.add_typer(pipeline.app, name="pipeline")
app.command("verify")(verify.verify)
app.add_typer(metrics.app, name="metrics")
app.command("demo")(demo.demo)
app.command("health")(health.health)
app.add_typer(function.app, name="function")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"paysim {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option("--env", "-e", help="Environment to act on (also PAYSIM_ENV). [default: local]"),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (also PAYSIM_CONFIG). [default: ./paysim.toml]"),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", help="Local state directory (also PAYSIM_STATE_DIR). [default: .paysim]"),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only JSON: {'data': ...} or {'error': {...}}.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print debug detail to stderr.")] = False,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Re-raise errors with their stack trace.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """paysim: one CLI for the payment-events pipeline, in Azure and on an embedded local stack."""
    from paysim_cli.settings import resolve_settings

    settings = resolve_settings({"env": env, "state_dir": state_dir}, config_file=config_file)
    ctx.obj = AppContext(settings, Output(json_mode=json_output, verbose=verbose), traceback=traceback)


def main() -> None:
    """Console-script entry point."""
    app()

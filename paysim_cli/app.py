"""The root `paysim` app: global options, settings resolution, command groups, the one error boundary."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click import Command
from typer.core import TyperGroup
from typer.exceptions import TyperException

from paysim_cli import __version__
from paysim_cli.commands.help import TidyHelp, verb
from paysim_cli.commands.json_option import JsonOption
from paysim_cli.context import AppContext
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.interrupts import Interrupted, terminate_like_interrupt
from paysim_cli.output import Output

ARGV = "paysim.argv"


# Every command under the root, in help order: its module under paysim_cli.commands, and the verb
# function that module holds, or None for a group (the module's `app`). A command's module loads when
# it runs or a page lists it: `paysim health` pays for no other group's request models or SDKs.
COMMANDS: dict[str, str | None] = {
    "config": None,
    "local": None,
    "profiles": None,
    "simulate": "simulate",
    "db": None,
    "hub": None,
    "infra": None,
    "pipeline": None,
    "verify": "verify",
    "runs": None,
    "archive": None,
    "metrics": None,
    "demo": "demo",
    "health": "health",
    "dlq": None,
    "function": None,
}


def command_app(name: str) -> typer.Typer:
    """A Typer app holding command `name` of `COMMANDS`, registered as the root would register it."""
    module = importlib.import_module(f"paysim_cli.commands.{name}")
    holder = typer.Typer()
    function = COMMANDS[name]
    if function is None:
        holder.add_typer(module.app, name=name)
    else:
        verb(holder, name, getattr(module, function), *module.EXAMPLES)
    return holder


def _load(name: str) -> Command:
    return typer.main.get_group(command_app(name)).commands[name]


class LazyCommands(MutableMapping[str, Command]):
    """The root's commands: every name known at once, each command built on its first lookup.

    Click finds a subcommand with `commands.get(name)` and lists them by iterating the names, so a run
    builds only its own command; whoever walks the values (`--help`, the tests) builds them all.
    """

    def __init__(self, loaders: Mapping[str, Callable[[], Command]], built: dict[str, Command]) -> None:
        self._loaders, self._built = loaders, built

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in self._loaders:
                raise KeyError(name)
            self._built[name] = self._loaders[name]()
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._loaders, *self._built]))

    def __len__(self) -> int:
        return len(set(self._loaders) | set(self._built))


class PaysimGroup(TidyHelp, TyperGroup):
    """The root group: the only place a failure becomes an exit code and a message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        loaders = {name: lambda name=name: _load(name) for name in COMMANDS}
        self.commands = LazyCommands(loaders, dict(self.commands))

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context; typer.Context subclasses it
        try:
            return super().invoke(ctx)
        except PaysimError as error:
            if _wants_traceback(ctx):
                raise
            _output_for(ctx).error(error)
            raise typer.Exit(int(error.exit_code)) from error
        except KeyboardInterrupt as interrupt:
            code = _interrupt_exit_code(interrupt)
            _output_for(ctx).error(_interrupted(code))
            raise typer.Exit(int(code)) from interrupt
        except (typer.Exit, typer.Abort, TyperException, BrokenPipeError):
            raise  # exits, usage errors and a closed stdout: `main` below reports those
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

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Parse, run, and end with an exit code from the README's table, whatever happened."""
        argv = list(sys.argv[1:] if args is None else args)
        self._main_shell_completion(extra, prog_name or "paysim", complete_var)
        code = self._run(argv, prog_name or "paysim", extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, argv: list[str], prog_name: str, extra: dict[str, Any]) -> int:
        try:
            with terminate_like_interrupt(), self.make_context(prog_name, list(argv), **extra) as ctx:
                ctx.meta[ARGV] = argv  # for errors raised before a command-level --json is parsed
                self.invoke(ctx)
            return int(ExitCode.OK)
        except typer.Exit as done:
            return done.exit_code
        except BrokenPipeError:
            _silence_stdout()
            return int(ExitCode.BROKEN_PIPE)
        except SystemExit as exit_:
            # Rich meets a closed stdout by exiting 1 (Console.on_broken_pipe), from the except block
            # that caught the BrokenPipeError: that one ends like any other broken pipe.
            if isinstance(exit_.__context__, BrokenPipeError):
                _silence_stdout()
                return int(ExitCode.BROKEN_PIPE)
            raise
        except typer.Abort:  # a prompt that got Ctrl-C or end of input instead of an answer
            _usage_output(argv).error(_aborted())
            return int(ExitCode.ABORTED)
        except TyperException as error:  # Click's usage errors, raised while parsing
            return _report_usage_error(error, argv)
        except KeyboardInterrupt as interrupt:  # while parsing, before the boundary above
            code = _interrupt_exit_code(interrupt)
            _usage_output(argv).error(_interrupted(code))
            return int(code)


def _wants_traceback(ctx: Any) -> bool:
    state = ctx.obj
    return bool(state.traceback) if isinstance(state, AppContext) else bool(ctx.params.get("traceback"))


def _output_for(ctx: Any) -> Output:
    state = ctx.obj
    if isinstance(state, AppContext):
        return state.output
    return Output(json_mode=bool(ctx.params.get("json_output")) or _json_requested(ctx.meta.get(ARGV, [])))


def _json_requested(argv: list[str]) -> bool:
    """`--json` anywhere before a `--`: usage errors happen before the option is parsed."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def _usage_output(argv: list[str]) -> Output:
    return Output(json_mode=_json_requested(argv))


def _report_usage_error(error: TyperException, argv: list[str]) -> int:
    exit_code = int(getattr(error, "exit_code", ExitCode.USAGE))
    ctx = getattr(error, "ctx", None)
    path = ctx.command_path if ctx is not None else "paysim"
    if type(error).__name__ == "NoArgsIsHelpError":
        # A group without a subcommand: its help is already on the screen; machines get an error.
        if _json_requested(argv):
            _usage_output(argv).error(
                PaysimError("usage_error", f"{path}: missing command", f"`{path} --help` lists the commands")
            )
        return exit_code
    usage = " ".join(ctx.get_usage().split()) if ctx is not None else "Usage: paysim [OPTIONS] COMMAND"
    _usage_output(argv).error(
        PaysimError(
            "usage_error",
            " ".join(error.format_message().split()),
            f"{usage.replace('Usage:', 'usage:', 1)}; `{path} --help` shows every option with examples",
            exit_code=ExitCode.USAGE,
        )
    )
    return exit_code


def _interrupt_exit_code(interrupt: KeyboardInterrupt) -> ExitCode:
    return (
        ExitCode.for_signal(interrupt.signum) if isinstance(interrupt, Interrupted) else ExitCode.INTERRUPTED
    )


def _interrupted(code: ExitCode) -> PaysimError:
    name = "SIGTERM" if code is ExitCode.TERMINATED else "SIGINT"
    return PaysimError(
        "interrupted",
        f"interrupted by {name} before the command finished",
        "run it again; `paysim local status` and `paysim db status` show what state was left",
        exit_code=code,
    )


def _aborted() -> PaysimError:
    return PaysimError(
        "aborted",
        "no answer to the confirmation: nothing was changed",
        "answer y at the prompt, or pass --yes where nobody can answer (CI)",
        exit_code=ExitCode.ABORTED,
    )


def _silence_stdout() -> None:
    """The reader went away (`| head`): end quietly, as coreutils do. Pointing stdout at /dev/null
    stops Python's own flush at exit from raising the same error again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (an in-process test runner)
        pass


app = typer.Typer(
    name="paysim",
    cls=PaysimGroup,
    help="Provision, migrate, drive and verify the Azure payment-events pipeline, in Azure or on an "
    "embedded local stack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"paysim {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="Environment to act on (also PAYSIM_ENV): local, a [env.NAME] table of paysim.toml, a "
            "Terraform environment or one `paysim infra output` wrote.",
            show_default="local",
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (also PAYSIM_CONFIG).", show_default="./paysim.toml"),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir", help="Local state directory (also PAYSIM_STATE_DIR).", show_default=".paysim"
        ),
    ] = None,
    json_output: JsonOption = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log each step the command takes to stderr.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print only the result and errors: no progress or status lines."),
    ] = False,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Re-raise errors with their stack trace.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """paysim: one CLI for the payment-events pipeline, in Azure and on an embedded local stack."""
    from paysim_cli.logs import configure_logging
    from paysim_cli.settings import resolve_settings

    if verbose and quiet:
        raise PaysimError(
            "conflicting_options",
            "--verbose and --quiet ask for opposite things",
            "give one of them",
            exit_code=ExitCode.USAGE,
        )
    configure_logging(verbose=verbose, quiet=quiet)
    settings = resolve_settings({"env": env, "state_dir": state_dir}, config_file=config_file)
    output = Output(json_mode=json_output, verbose=verbose, quiet=quiet)
    ctx.obj = AppContext(settings, output, traceback=traceback)


def main() -> None:
    """Console-script entry point."""
    # The garbage collector walks every object the imports made, in each full collection while the
    # command runs and in the interpreter's last ones at exit: about 0.15 s of a one-second command
    # here. Those objects live as long as the process; frozen, the collections skip them. Everything
    # is still finalised as its references go (open files flushed, atexit handlers run).
    gc.freeze()
    try:
        app()
    finally:
        gc.freeze()

"""How every paysim command is registered and how its help reads: real metavars, examples on every page.

Typer's defaults show `<bool>` after every flag and `{run_id}` for an argument; paysim's pages show
flags bare and arguments as `RUN_ID`, like the man pages people know. Each verb is registered through
`verb`, which requires examples: they end its help page, and tests run them through the parser.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# Rich's markup tags: `[` then a letter, `#`, `/` or `@` (rich.markup.escape's pattern). Matched here
# rather than imported: the command tree is built on every invocation, and rich loads only for --help.
_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def inert(text: str | None) -> str | None:
    """Help text shown as written: Rich would take `[env.NAME]` or `[default: x]` for markup and drop it."""
    if text is None or "[" not in text:
        return text
    return _MARKUP_TAG.sub(lambda match: f"{match.group(1) * 2}\\{match.group(2)}", text)


def _reflowed(text: str | None) -> str | None:
    """A docstring's paragraphs as single lines: Rich help keeps a docstring's line breaks as written."""
    if text is None:
        return None
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in inspect.cleandoc(text).split("\n\n"))


def _tidy(param: Any) -> None:
    """Flags take no value, so show none; an argument shows as its name in capitals."""
    if isinstance(param, TyperOption) and param.is_flag:
        param.metavar = ""
    elif isinstance(param, TyperArgument) and param.metavar is None:
        param.metavar = param.name.upper() + ("..." if param.nargs != 1 else "") if param.name else None


class TidyHelp:
    """Mixed into paysim's command and group classes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"] = _reflowed(kwargs.get("help"))
        for text in ("help", "short_help", "epilog"):
            kwargs[text] = inert(kwargs.get(text))
        for param in kwargs.get("params") or []:
            if getattr(param, "help", None):
                param.help = inert(param.help)
            _tidy(param)
        super().__init__(*args, **kwargs)

    def get_params(self, ctx: Any) -> list[Any]:
        # The help option is made on demand, after __init__.
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            _tidy(param)
        return params


class PaysimCommand(TidyHelp, TyperCommand):
    """A verb: `paysim db migrate [OPTIONS]`, `paysim verify [OPTIONS] RUN_ID`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = str(param.metavar)
                optional = not param.required and not name.startswith("[")
                pieces.append(f"[{name}]" if optional else name)
        return pieces


class PaysimSubgroup(TidyHelp, TyperGroup):
    """A command group below the root: `paysim db`, `paysim hub`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Without a subcommand a group shows its help; with --json stdout must carry only the error.
        if not args and self.no_args_is_help and ctx.find_root().params.get("json_output"):
            ctx.fail(f"{ctx.command_path}: missing command")
        result: list[str] = super().parse_args(ctx, args)
        return result


def group(help: str) -> typer.Typer:
    """A command group; without a subcommand it shows its help."""
    return typer.Typer(cls=PaysimSubgroup, help=help, no_args_is_help=True)


def verb(
    app: typer.Typer, name: str, function: Callable[..., None], *examples: str, hidden: bool = False
) -> None:
    """Register `function` as `name` under `app`, its help page ending with `examples`."""
    if not examples and not hidden:
        raise ValueError(f"paysim {name}: every verb's help shows examples")
    app.command(name, cls=PaysimCommand, epilog=examples_epilog(examples), hidden=hidden)(function)


def examples_epilog(examples: tuple[str, ...]) -> str | None:
    # One paragraph, one example a line: Rich help keeps the line breaks inside an epilog's paragraph.
    return "\n".join(("Examples:", *examples)) if examples else None


def examples_of(command: Any) -> list[str]:
    """The example command lines on a command's help page (what `verb` wrote into its epilog)."""
    epilog = getattr(command, "epilog", None) or ""
    return [line.replace("\\[", "[") for line in epilog.splitlines() if line.startswith("paysim ")]

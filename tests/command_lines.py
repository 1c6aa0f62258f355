"""Parsing `paysim ...` command lines the way the CLI does, without running them: for the README and
help examples, and for the commands hints name."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import typer
from typer.exceptions import TyperException

from paysim_cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"
_FENCE = re.compile(r"^```")


@cache
def cli_command() -> Any:
    """The click command tree behind `paysim`, built once (typer builds it anew on each call, ~60 ms;
    parsing does not change it)."""
    return typer.main.get_command(app)


def parse(line: str) -> list[Any]:
    """`parse_words` of a `paysim ...` line as a shell splits it (comments dropped)."""
    words = shlex.split(line, comments=True)
    assert words[0] == "paysim", line
    return parse_words(words[1:])


def parse_words(words: Sequence[str]) -> list[Any]:
    """The contexts from the root to the verb `paysim WORDS` names, each with its options parsed and
    converted. Raises what the CLI reports as a usage error (a TyperException): an unknown command or
    option, a bad value, a group without its command."""
    if not words:
        raise TyperException("paysim: missing command")  # the root would print its help instead
    ctx = cli_command().make_context("paysim", list(words))
    contexts = [ctx]
    while hasattr(ctx.command, "commands"):
        # What the group left for its subcommand (click keeps it in `_protected_args` and `args`).
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            raise TyperException(f"{ctx.command_path}: missing command")
        name, command, arguments = ctx.command.resolve_command(ctx, rest)
        if hasattr(command, "commands") and not arguments:  # it would print its help instead
            raise TyperException(f"{ctx.command_path} {name}: missing command")
        ctx = command.make_context(name, arguments, parent=ctx)
        contexts.append(ctx)
    return contexts


def hidden_options_used(contexts: list[Any]) -> list[str]:
    """The deprecated spellings (hidden options) a parsed command line uses."""
    used = []
    for ctx in contexts:
        for param in ctx.command.params:
            if getattr(param, "hidden", False) and ctx.params.get(param.name) not in (None, False, [], ()):
                used.append(param.opts[0])
    return used


def readme_command_lines(path: Path = README) -> list[str]:
    """Every `paysim ...` line of the README's code blocks, fenced or indented, without comments."""
    lines: list[str] = []
    fenced = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(raw.strip()):
            fenced = not fenced
            continue
        in_block = fenced or raw.startswith("    ")
        text = raw.strip()
        if in_block and text.startswith("paysim "):
            lines.append(shlex.join(shlex.split(text, comments=True)))  # without its comment
    return lines


def verbs() -> list[tuple[str, Any]]:
    """Every verb as (`paysim group verb`, its click command), hidden ones left out."""
    found: list[tuple[str, Any]] = []

    def walk(path: str, command: Any) -> None:
        for name, sub in command.commands.items():
            if sub.hidden:
                continue
            if hasattr(sub, "commands"):
                walk(f"{path} {name}", sub)
            else:
                found.append((f"{path} {name}", sub))

    walk("paysim", cli_command())
    return found

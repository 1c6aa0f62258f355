"""The `paysim ...` command lines in GitHub Actions workflows, and parsing them with the real CLI.

Parsing builds Click's contexts down to the verb, as typer's shell completion does, converting every
option and argument without invoking anything: an unknown verb, a renamed flag, a missing argument or
a value of the wrong type is a usage error, exactly as it would be on the runner.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from command_lines import parse_words
from typer.exceptions import TyperException

PROJECT_ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS_DIR = PROJECT_ROOT / ".github" / "workflows"

# shlex's punctuation characters: a token made of them only is an operator (`&&`, `|`, `$(`'s `(`, `>`).
_OPERATOR_CHARACTERS = frozenset("();<>|&")
# Besides control operators, a command starts after these words (and at the start of a line).
_COMMAND_START_WORDS = frozenset({"!", "{", "if", "then", "elif", "else", "do", "while", "until", "time"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_FD_BEFORE_REDIRECTION = re.compile(r"(?<=\s)\d+(?=[<>])")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
_SHELL_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class WorkflowCommand:
    """One `paysim` invocation in a workflow's `run:` script."""

    workflow: str
    job: str
    step: str
    text: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.workflow} job {self.job!r} step {self.step!r}: {self.text}"


def workflow_files(directory: Path = WORKFLOWS_DIR) -> list[Path]:
    return sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])


def workflow_commands(path: Path, samples: Mapping[str, str] | None = None) -> list[WorkflowCommand]:
    """Every paysim invocation in `path`'s run scripts, with `$VARIABLES` replaced by literal `env:`
    values (step over job over workflow) or, for values only known at run time, by `samples`."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for job_id, job in (document.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            script = step.get("run")
            if not isinstance(script, str):
                continue
            variables = {
                **dict(samples or {}),
                **_literal_env(document),
                **_literal_env(job),
                **_literal_env(step),
            }
            step_name = str(step.get("name") or step.get("id") or f"#{index + 1}")
            for text, argv in paysim_invocations(script):
                resolved = tuple(_substitute(argument, variables) for argument in argv)
                found.append(WorkflowCommand(path.name, str(job_id), step_name, text, resolved))
    return found


def paysim_invocations(script: str) -> Iterator[tuple[str, list[str]]]:
    """(the logical line, the arguments after `paysim`) for each paysim command in a bash script."""
    for line in _logical_lines(script):
        tokens = _tokens(line)
        for start, token in enumerate(tokens):
            if _is_paysim(token) and _at_command_start(tokens, start):
                yield line.strip(), _arguments(tokens[start + 1 :])


def parse_command_line(argv: Sequence[str]) -> str | None:
    """None when `paysim ARGV` parses against the CLI; otherwise Click's usage error message."""
    try:
        parse_words(argv)
    except TyperException as error:
        return _message(error)
    return None


def _literal_env(node: Any) -> dict[str, str]:
    env = node.get("env") if isinstance(node, dict) else None
    if not isinstance(env, dict):
        return {}
    return {str(key): str(value) for key, value in env.items() if "${{" not in str(value)}


def _substitute(argument: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))

    return _SHELL_VARIABLE.sub(value, argument)


def _logical_lines(script: str) -> Iterator[str]:
    """Lines with backslash continuations joined and heredoc bodies left out."""
    heredoc_end: str | None = None
    for line in script.replace("\\\n", " ").splitlines():
        if heredoc_end is not None:
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        heredoc = _HEREDOC.search(line)
        if heredoc:
            heredoc_end = heredoc.group(2)
        yield line


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(_FD_BEFORE_REDIRECTION.sub("", line), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _is_paysim(token: str) -> bool:
    return token == "paysim" or token.endswith("/paysim")


def _is_operator(token: str) -> bool:
    return bool(token) and set(token) <= _OPERATOR_CHARACTERS


def _at_command_start(tokens: list[str], index: int) -> bool:
    """True when tokens[index] is a command word: first, or after a control operator, a keyword or
    variable assignments (`FOO=bar paysim ...`)."""
    position = index - 1
    while position >= 0 and _ASSIGNMENT.match(tokens[position]):
        position -= 1
    if position < 0:
        return True
    previous = tokens[position]
    is_control_operator = _is_operator(previous) and not set(previous) & {"<", ">"}
    return is_control_operator or previous in _COMMAND_START_WORDS


def _arguments(tokens: list[str]) -> list[str]:
    """The tokens up to the first operator: a control operator or a redirection ends the arguments."""
    arguments = []
    for token in tokens:
        if _is_operator(token):
            break
        arguments.append(token)
    return arguments


def _message(error: TyperException) -> str:
    format_message = getattr(error, "format_message", None)
    return str(format_message()) if callable(format_message) else str(error)

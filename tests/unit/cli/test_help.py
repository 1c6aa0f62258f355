"""Every help page tells the truth: text shown as written, real metavars, examples that parse."""

from __future__ import annotations

import re
from typing import Any

import pytest
from command_lines import hidden_options_used, parse, verbs
from typer import rich_utils
from typer.testing import CliRunner

from paysim_cli.app import app
from paysim_cli.commands.help import examples_of

VERBS = verbs()


@pytest.fixture
def wide_help(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`paysim ARGS --help` rendered wide enough that no help text wraps."""
    monkeypatch.setattr(rich_utils, "MAX_WIDTH", 3000)

    def render(*words: str) -> str:
        result = CliRunner().invoke(app, [*words, "--help"])
        assert result.exit_code == 0, result.output
        return " ".join(result.stdout.split())

    return render


def test_every_verb_ends_its_help_with_examples_that_parse() -> None:
    assert len(VERBS) >= 30
    for path, command in VERBS:
        examples = examples_of(command)
        assert examples, f"{path} has no examples"
        for example in examples:
            assert example.startswith(path + " ") or example.startswith("paysim --") or example == path
            contexts = parse(example)
            assert hidden_options_used(contexts) == [], example


@pytest.mark.parametrize(("path", "command"), VERBS, ids=[path for path, _ in VERBS])
def test_help_text_is_shown_as_written(wide_help: Any, path: str, command: Any) -> None:
    """Rich markup would swallow `[env.NAME]` or `[default: x]`; flags show no `<bool>`."""
    page = wide_help(*path.split()[1:])
    for param in command.params:
        if param.hidden or not getattr(param, "help", None):
            continue
        written = " ".join(param.help.replace("\\[", "[").split())
        assert written in page, f"{path} {param.opts}: help text lost in rendering"
    assert "<bool>" not in page
    for param in command.params:
        if param.param_type_name == "argument":  # RUN_ID, PROFILES..., or one the verb set itself
            assert param.metavar is not None
            assert param.metavar.strip("[]").removesuffix("...").isupper()
            # After the arguments before it (`runs compare A B`).
            assert re.search(rf"Usage: {path} \[OPTIONS\] (\S+ )*\[?{re.escape(param.metavar)}", page)


def test_the_root_help_promises_only_what_exists(wide_help: Any) -> None:
    page = wide_help()
    for name in (
        "simulate",
        "verify",
        "demo",
        "local",
        "db",
        "hub",
        "infra",
        "pipeline",
        "runs",
        "metrics",
        "function",
    ):
        assert f" {name} " in page
    assert "[env.NAME]" in page
    assert "--quiet" in page
    assert "<bool>" not in page


def test_bounds_come_from_the_request_models(wide_help: Any) -> None:
    assert "Worker processes (1 <= N <= 32)." in wide_help("simulate")
    assert "Worker processes (1 <= N <= 32)." in wide_help("pipeline", "run")
    assert "(0 <= N <= 60,000)" in wide_help("pipeline", "run")
    assert "replacing the profile's rate and stages (0 < N <= 1,000,000)" in wide_help("demo")


def test_deprecated_spellings_are_hidden_but_still_parse() -> None:
    for line, hidden in (
        ("paysim simulate --target local --count 1", ["--target"]),
        ("paysim pipeline run --source eventhub", ["--source"]),
        ("paysim hub send --file x -p 1", ["-p"]),
        ("paysim hub peek -p 0 -p 1", ["-p"]),
    ):
        assert hidden_options_used(parse(line)) == hidden

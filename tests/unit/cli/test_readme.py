"""The README's command lines are real: each one parses with the CLI's own parser, with no deprecated
spelling. Later README edits are checked the same way."""

from __future__ import annotations

import pytest
from command_lines import hidden_options_used, parse, readme_command_lines

LINES = readme_command_lines()


def test_the_readme_has_command_lines() -> None:
    assert len(LINES) > 40
    assert "paysim db migrate" in LINES  # the newcomer path, in order
    path = ["paysim local up", "paysim db migrate", "paysim simulate", "paysim pipeline run", "paysim verify"]
    positions = [next(i for i, line in enumerate(LINES) if line.startswith(step)) for step in path]
    assert positions == sorted(positions)


@pytest.mark.parametrize("line", LINES)
def test_each_line_parses(line: str) -> None:
    contexts = parse(line)
    assert hidden_options_used(contexts) == [], f"{line}: uses a deprecated spelling"

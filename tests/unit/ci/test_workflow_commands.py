"""Every `paysim ...` line in .github/workflows/*.yml parses against the real CLI, so a renamed verb or
flag breaks this test rather than a deploy."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_commands import (
    WorkflowCommand,
    parse_command_line,
    paysim_invocations,
    workflow_commands,
    workflow_files,
)

# Values the workflows only learn at run time (a step's output, a workflow_call input), standing in for
# them where the CLI checks a type.
RUN_TIME_SAMPLES: dict[str, str] = {
    "VERSION_BEFORE": "6",  # deploy.yml: `paysim db status`'s current_version before the migration
    "GATE_SECONDS": "60",  # deploy.yml's gate-seconds input (a number)
    "HEALTH_TIMEOUT": "600",  # deploy.yml's health-timeout input (a number)
    "PACKAGE": "dist/paysim-function-4f1c2a9b0d3e-12a93e62.zip",  # `paysim function package`'s path
}


def all_workflow_commands() -> list[WorkflowCommand]:
    return [command for path in workflow_files() for command in workflow_commands(path, RUN_TIME_SAMPLES)]


def test_every_paysim_line_in_the_workflows_parses_against_the_cli() -> None:
    commands = all_workflow_commands()
    assert commands, "no paysim command found in .github/workflows"
    failures = [
        f"{command}\n    {error}" for command in commands if (error := parse_command_line(command.argv))
    ]
    assert not failures, "paysim lines that do not parse:\n" + "\n".join(failures)


def test_the_load_test_drives_staging_at_ten_thousand_events_a_second_then_verifies() -> None:
    commands = [command.argv for command in all_workflow_commands() if command.workflow == "load-test.yml"]
    simulate = next(argv for argv in commands if argv[0] == "simulate")
    assert " ".join(simulate).startswith("simulate --transport eventhub --rate 10000 --duration 600")
    assert ("verify", "$RUN_ID") in commands
    assert ("infra", "output", "--env", "staging") in commands


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["helth"], "No such command 'helth'"),
        (["simulate", "--rat", "10000"], "No such option: --rat"),
        (["simulate", "--rate", "fast"], "Invalid value for '--rate'"),
        (["verify"], "Missing argument 'RUN_ID'"),
        (["infra"], "paysim infra: missing command"),
        (["infra", "output", "--env"], "Option '--env' requires an argument"),
        (["verify", "RUN", "EXTRA"], "unexpected extra argument"),
        ([], "missing command"),
    ],
)
def test_a_line_that_does_not_parse_is_reported(argv: list[str], error: str) -> None:
    message = parse_command_line(argv)
    assert message is not None
    assert error in message


def test_a_line_that_parses_is_accepted_with_global_options_before_the_verb() -> None:
    assert parse_command_line(["--env", "staging", "--json", "db", "status"]) is None


def test_paysim_is_found_wherever_bash_starts_a_command() -> None:
    script = "\n".join(
        [
            "run_id=$(paysim simulate --count 5 --json | jq -r .data.run_id)",
            'if ! paysim verify "$RUN_ID" > verify.txt 2>&1; then exit 7; fi',
            "PAYSIM_ENV=dev .venv/bin/paysim infra \\",
            "  output --env dev",
            "paysim db status || status=$?",
        ]
    )
    assert [argv for _, argv in paysim_invocations(script)] == [
        ["simulate", "--count", "5", "--json"],
        ["verify", "$RUN_ID"],
        ["infra", "output", "--env", "dev"],
        ["db", "status"],
    ]


def test_mentions_in_strings_comments_and_heredocs_are_not_commands() -> None:
    script = "\n".join(
        [
            'echo "run paysim verify next"',
            "# paysim health --wait-healthy",
            "cat >> summary.md <<'EOF'",
            "paysim simulate --not-a-flag",
            "EOF",
            "grep paysim log.txt",
        ]
    )
    assert list(paysim_invocations(script)) == []


def test_variables_take_literal_env_values_nearest_first(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        """
env: {TARGET: local, RATE: "5"}
jobs:
  load:
    env: {TARGET: eventhub, SECRET: "${{ secrets.X }}"}
    steps:
      - name: send
        env: {RATE: "7"}
        run: paysim simulate --target "$TARGET" --rate ${RATE} --seed $SEED --output "$SECRET"
""",
        encoding="utf-8",
    )
    (command,) = workflow_commands(workflow, {"SEED": "42"})
    assert command.argv == (
        "simulate",
        "--target",
        "eventhub",
        "--rate",
        "7",
        "--seed",
        "42",
        "--output",
        "$SECRET",
    )
    assert (command.job, command.step) == ("load", "send")

"""The runner test_deploy_sequence.py runs deploy.yml's steps with: GitHub's `if:` rules, expressions,
`$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`, on small workflows of its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from workflow_runner import Contexts, Job, StepRun, evaluate, interpolate, run_steps, should_run

WORKFLOW = """
env: {GREETING: hello}
jobs:
  job:
    env: {TARGET: "${{ inputs.target }}", CLIENT: "${{ vars.AZURE_CLIENT_ID }}"}
    steps:
      - id: first
        run: |
          echo "target=$TARGET" >> "$GITHUB_OUTPUT"
          {
            echo "notes<<EOF"
            echo "line one"
            echo "line two"
            echo "EOF"
          } >> "$GITHUB_OUTPUT"
          echo "## $GREETING $TARGET" >> "$GITHUB_STEP_SUMMARY"
      - id: fails
        env: {FROM_FIRST: "${{ steps.first.outputs.target }}"}
        run: |
          echo "got $FROM_FIRST"
          false
          echo "not reached"
      - id: after_failure
        run: echo "runs only on success"
      - id: on_failure
        if: ${{ failure() && steps.first.outputs.target != '' }}
        env: {OUTCOME: "${{ steps.fails.outcome }}", SKIPPED: "${{ steps.after_failure.outcome }}"}
        run: echo "$OUTCOME $SKIPPED" >> "$GITHUB_STEP_SUMMARY"
      - name: Upload
        if: ${{ !cancelled() }}
        uses: actions/upload-artifact@0000000000000000000000000000000000000000 # v0
      - id: pipefail
        if: always()
        run: false | true
"""


@pytest.fixture
def job(tmp_path: Path) -> Job:
    path = tmp_path / "workflow.yml"
    path.write_text(WORKFLOW)
    return Job.load(path, "job")


def contexts(failed: bool = False, **steps: StepRun) -> Contexts:
    return Contexts(inputs={"gate-seconds": 60.0}, vars={}, steps=dict(steps), job_failed=failed)


def test_steps_run_in_order_with_githubs_status_rules_outputs_and_summary(job: Job, tmp_path: Path) -> None:
    run = run_steps(
        job,
        job.steps_from("first"),
        inputs={"target": "local"},
        earlier_steps={},
        base_env={"PATH": os.environ["PATH"]},
        cwd=tmp_path,
        work_dir=tmp_path,
        not_run_here=frozenset({"actions/upload-artifact"}),
    )
    assert run.outcomes() == {
        "first": "success",
        "fails": "failure",
        "after_failure": "skipped",
        "on_failure": "success",
        "pipefail": "failure",  # bash -eo pipefail, as `shell: bash` runs
    }
    assert run.step("first").outputs == {"target": "local", "notes": "line one\nline two"}
    assert run.step("fails").log == "got local\n"  # -e: the step stopped at `false`
    assert run.summary == "## hello local\nfailure skipped\n"
    assert run.not_run == ["Upload"]
    assert run.failed


def test_an_action_that_cannot_run_here_is_an_error(job: Job, tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="cannot run here"):
        run_steps(
            job,
            job.steps_from("first"),
            inputs={"target": "local"},
            earlier_steps={},
            base_env={"PATH": os.environ["PATH"]},
            cwd=tmp_path,
            work_dir=tmp_path,
            not_run_here=frozenset(),
        )


def test_earlier_steps_outputs_and_a_hook_before_each_step(job: Job, tmp_path: Path) -> None:
    seen: list[str] = []
    run = run_steps(
        job,
        job.steps_from("fails"),
        inputs={"target": "x"},
        earlier_steps={"first": {"target": "from-before"}},
        base_env={"PATH": os.environ["PATH"]},
        cwd=tmp_path,
        work_dir=tmp_path,
        not_run_here=frozenset({"actions/upload-artifact"}),
        before_step=seen.append,
    )
    assert run.step("fails").log == "got from-before\n"
    assert seen == ["fails", "on_failure", "pipefail"]  # only the steps that run


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("failure() && steps.a.outputs.v != ''", True),
        ("success()", False),
        ("!cancelled()", True),
        ("always()", True),
        ("steps.a.outcome == 'failure'", True),
        ("steps.missing.outcome == ''", True),
        ("steps.a.outputs.v == '12' || false", True),
        ("!(steps.a.outputs.v == '12')", False),
        ("inputs.gate-seconds", 60.0),
        ("'it''s'", "it's"),
        ("vars.AZURE_CLIENT_ID", ""),
    ],
)
def test_expressions(expression: str, value: object) -> None:
    step = StepRun("a", "a", "failure", 1, {"v": "12"})
    assert evaluate(expression, contexts(failed=True, a=step)) == value


@pytest.mark.parametrize("expression", ["github.ref", "steps.a.outputs", "fromJSON('x')", "a ==", "(true"])
def test_an_expression_it_cannot_follow_is_an_error(expression: str) -> None:
    with pytest.raises((ValueError, IndexError, KeyError)):
        evaluate(expression, contexts(a=StepRun("a", "a", "success")))


def test_numbers_render_as_github_renders_them() -> None:
    assert interpolate("--gate-seconds ${{ inputs.gate-seconds }}", contexts()) == "--gate-seconds 60"


@pytest.mark.parametrize(
    ("condition", "failed", "runs"),
    [
        (None, False, True),
        (None, True, False),
        ("steps.a.outcome == 'success'", True, False),  # no status function: success() && (...)
        ("${{ failure() }}", True, True),
    ],
)
def test_should_run(condition: str | None, failed: bool, runs: bool) -> None:
    step = {} if condition is None else {"if": condition}
    assert should_run(step, contexts(failed, a=StepRun("a", "a", "success"))) is runs

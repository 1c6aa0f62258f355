"""CI-native output: under GitHub Actions every error is an annotation; summaries go to the step file."""

from __future__ import annotations

import io
from pathlib import Path

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.output import GitHubActions, Output, markdown_cell


def _output(
    tmp_path: Path, *, json_mode: bool = False, **environ: str
) -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(json_mode=json_mode, stdout=stdout, stderr=stderr, environ=environ), stdout, stderr


def test_outside_github_actions_nothing_changes(tmp_path: Path) -> None:
    output, _, stderr = _output(tmp_path, GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    output.annotate("error", "t", "m")
    output.step_summary("| a |")
    output.error(PaysimError("x_failed", "x failed", "do y"))

    assert output.github is None
    assert stderr.getvalue() == "error [x_failed]: x failed\nhint: do y\n"
    assert not (tmp_path / "summary.md").exists()


def test_every_commands_error_becomes_an_error_annotation_on_stderr(tmp_path: Path) -> None:
    output, stdout, stderr = _output(tmp_path, json_mode=True, GITHUB_ACTIONS="true")

    output.error(
        PaysimError(
            "database_unreachable",
            "cannot connect to postgresql://paysim:hunter2@db:5432/x: refused\nretrying: 100%",
            "check the server, then retry",
            exit_code=ExitCode.UNAVAILABLE,
        )
    )

    # stdout stays one JSON document; the runner reads workflow commands from stderr too.
    assert stdout.getvalue().startswith('{\n  "error"')
    assert stderr.getvalue() == (
        "::error title=paysim%3A database_unreachable::cannot connect to postgresql://paysim:****@db:5432/x: "
        "refused%0Aretrying: 100%25 (hint: check the server, then retry)\n"
    )


def test_the_step_summary_is_appended_markdown_with_secrets_masked(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n\n")
    output, _, _ = _output(tmp_path, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary))

    output.step_summary(f"| url |\n| --- |\n| {markdown_cell('postgresql://u:pw@h/db | x')} |")

    assert summary.read_text() == "earlier step\n\n| url |\n| --- |\n| postgresql://u:****@h/db \\| x |\n\n"


def test_without_a_summary_file_annotations_still_work(tmp_path: Path) -> None:
    stream = io.StringIO()
    github = GitHubActions.from_environ({"GITHUB_ACTIONS": "true"}, stream)

    assert github is not None
    assert github.summary_path is None
    github.append_summary("ignored")
    github.annotate("warning", "a, b: c", "line")
    assert stream.getvalue() == "::warning title=a%2C b%3A c::line\n"

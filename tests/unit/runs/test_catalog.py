"""`paysim runs list|show`: the runs the simulator wrote, newest first, with their last verdict."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.runs.catalog import list_runs, record_verification, show_run
from paysim_cli.settings import Settings


@pytest.fixture
def two_runs(cli, tmp_path: Path, settings: Settings) -> Settings:
    for run_id in ("a-first", "b-second"):
        result = cli(
            "simulate", "--count", "20", "--run-id", run_id, "--output", str(tmp_path / f"{run_id}.nd")
        )
        assert result.exit_code == 0, result.output
    (settings.state_dir / "runs" / "c-killed").mkdir()  # a run killed before it wrote its manifest
    return settings


def test_runs_are_listed_newest_first_with_their_state(two_runs: Settings) -> None:
    record_verification(
        two_runs, "a-first", passed=False, processed=19, failed=0, duplicates_dropped=0, differences=2
    )
    report = list_runs(two_runs)
    assert [(run.run_id, run.state) for run in report.runs] == [
        ("c-killed", "no manifest"),
        ("b-second", "not verified"),
        ("a-first", "differs"),
    ]
    assert report.runs[1].delivered == 20
    assert [run.run_id for run in list_runs(two_runs, limit=1).runs] == ["c-killed"]


def test_show_gives_totals_files_and_the_verdict(two_runs: Settings) -> None:
    record_verification(
        two_runs, "b-second", passed=True, processed=20, failed=0, duplicates_dropped=0, differences=0
    )
    detail = show_run(two_runs, "b-second")
    assert (detail.state, detail.valid, detail.target, detail.windows is not None) == (
        "reconciled",
        20,
        "file",
        True,
    )
    assert {"manifest.json", "profile.yaml", "verification.json"} <= set(detail.files)
    with pytest.raises(PaysimError) as raised:
        show_run(two_runs, "nope")
    assert (raised.value.code, raised.value.exit_code) == ("run_not_found", ExitCode.CONFIG)
    assert raised.value.hint == "recent runs: c-killed, b-second, a-first (`paysim runs list` shows them all)"


def test_the_commands(cli, two_runs: Settings) -> None:
    listed = cli("runs", "list")
    assert listed.exit_code == 0
    assert "b-second" in listed.stdout
    assert "not verified" in listed.stdout
    shown = cli("runs", "show", "b-second")
    assert "not verified yet: `paysim verify b-second`" in shown.stdout
    data = orjson.loads(cli("runs", "show", "a-first", "--json").stdout)["data"]
    assert (data["run_id"], data["delivered"], data["verification"]) == ("a-first", 20, None)
    empty = cli("--state-dir", str(two_runs.state_dir / "elsewhere"), "runs", "list")
    assert "no runs in" in empty.stdout

"""The newcomer's first hour, as the README tells it: local up, db migrate, simulate, pipeline run
--until-drained, verify. Once with the installed paysim in an empty directory; once (slow, `make
test-newcomer`) from a fresh clone through `make setup`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

PROJECT = Path(__file__).resolve().parents[2]


def _clean_environment() -> dict[str, str]:
    """A newcomer's shell: no PAYSIM_* variables from whoever runs the tests."""
    return {name: value for name, value in os.environ.items() if not name.startswith("PAYSIM_")}


def walk_the_readme_path(paysim: Sequence[str], cwd: Path) -> None:
    env = _clean_environment()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*paysim, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)

    try:
        started = run("local", "up")
        assert started.returncode == 0, started.stderr
        unmigrated = run("pipeline", "run", "--until-drained")  # the step a newcomer might skip
        assert unmigrated.returncode == 3, unmigrated.stderr
        assert "hint: run `paysim db migrate` first" in unmigrated.stderr
        migrated = run("db", "migrate")
        assert migrated.returncode == 0, migrated.stderr
        simulated = run("simulate", "--rate", "2000", "--duration", "5", "--json")
        assert simulated.returncode == 0, simulated.stderr
        run_id = orjson.loads(simulated.stdout)["data"]["run_id"]
        drained = run("pipeline", "run", "--until-drained")
        assert drained.returncode == 0, drained.stderr
        assert "drained" in drained.stdout
        verified = run("verify", run_id)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "reconciles exactly" in verified.stdout
        listed = orjson.loads(run("runs", "list", "--json").stdout)["data"]["runs"]
        assert [(entry["run_id"], entry["state"]) for entry in listed] == [(run_id, "reconciled")]
    finally:
        run("local", "down")


def test_the_readme_path_in_an_empty_directory(tmp_path: Path) -> None:
    walk_the_readme_path([sys.executable, "-m", "paysim_cli"], tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or shutil.which("npm") is None, reason="needs git and npm")
def test_the_readme_path_from_a_fresh_clone(tmp_path: Path) -> None:
    """What the README promises a newcomer: clone, `make setup`, then the path above in the clone."""
    clone = tmp_path / "paysim"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT), str(clone)], check=True)
    setup = subprocess.run(
        ["make", "setup"], cwd=clone, env=_clean_environment(), capture_output=True, text=True, check=False
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    walk_the_readme_path([str(clone / ".venv" / "bin" / "paysim")], clone)

"""Confirmations at a real terminal (a pseudo-terminal): without --yes, paysim asks before destroying
anything, and only a yes goes on."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from pathlib import Path

import pytest
from e2e_processes import PAYSIM

from paysim_cli.errors import ExitCode


def _at_a_terminal(args: list[str], answer: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run paysim with a terminal on stdin, stdout and stderr; answer its prompt; its exit and screen."""
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [*PAYSIM, *args], stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd=cwd
    )
    os.close(secondary)
    screen, answered, deadline = b"", False, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:  # the terminal closed: paysim has exited
                    break
                screen += chunk
            if not answered and b"[y/N]" in screen:
                os.write(primary, answer.encode() + b"\n")
                answered = True
            if process.poll() is not None and not ready:
                break
        return process.wait(timeout=30), screen.decode(errors="replace")
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()


@pytest.fixture
def env(state_dir: Path) -> dict[str, str]:
    return {**os.environ, "PAYSIM_STATE_DIR": str(state_dir), "TERM": "dumb"}


def test_local_reset_asks_and_only_a_yes_deletes(
    env: dict[str, str], state_dir: Path, tmp_path: Path
) -> None:
    keep = state_dir / "runs" / "some-run"
    keep.mkdir(parents=True)
    code, screen = _at_a_terminal(["local", "reset"], "n", env, tmp_path)
    assert "Delete every local database, blob, event and run under" in screen
    assert code == ExitCode.ABORTED
    assert "error [aborted]: not confirmed: nothing was changed" in screen
    assert keep.exists()
    code, screen = _at_a_terminal(["local", "reset"], "y", env, tmp_path)
    assert code == ExitCode.OK, screen
    assert not keep.exists()


def test_db_rollback_outside_local_asks_naming_what_it_drops(
    env: dict[str, str], migrated_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "paysim.toml").write_text(f'[env.staging]\ndatabase_url = "{migrated_database_url}"\n')
    args = ["--env", "staging", "db", "rollback", "--steps", "1"]
    code, screen = _at_a_terminal(args, "n", env, tmp_path)
    assert code == ExitCode.ABORTED, screen
    assert re.search(r"Revert \d{4}_\w+ on postgresql://\S+, dropping what they created\? \[y/N\]", screen)
    code, screen = _at_a_terminal(args, "y", env, tmp_path)
    assert code == ExitCode.OK, screen
    assert "reverted on" in screen

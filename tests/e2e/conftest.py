"""End-to-end fixtures: paysim as a separate process, the way a shell, `timeout` or a CI runner runs it."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_processes import PAYSIM, Spawn

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings


@pytest.fixture
def pipeline_env(state_dir: Path, migrated_database_url: str, blob_connection_string: str) -> dict[str, str]:
    """Environment variables for a paysim process on a migrated database, Azurite and a local log."""
    LocalEventLog.create(Settings(state_dir=state_dir).event_log_path, 4).close()
    return {
        **os.environ,
        "PAYSIM_STATE_DIR": str(state_dir),
        "PAYSIM_DATABASE_URL": migrated_database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": blob_connection_string,
        "PAYSIM_RAW_EVENTS_CONTAINER": f"raw-{uuid.uuid4().hex[:12]}",
    }


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start `paysim ARGS` in a session of its own (signals sent to its group reach its workers, as a
    terminal's Ctrl-C and a CI runner's cancel do); whatever is still running at the end is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [*PAYSIM, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()

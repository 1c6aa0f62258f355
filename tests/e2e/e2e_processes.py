"""What the end-to-end tests share besides fixtures: how paysim is started, and waiting on the log."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings

PAYSIM = [sys.executable, "-m", "paysim_cli"]
Spawn = Callable[..., subprocess.Popen[str]]


def events_in_log(state_dir: Path) -> int:
    """Every event the local log holds (a fresh log per test: all of them are the test's run)."""
    with LocalEventLog.open(Settings(state_dir=state_dir).event_log_path) as log:
        infos = [log.partition_info(partition) for partition in log.partition_ids()]
    return sum(
        0 if info.is_empty else info.last_enqueued_sequence_number - info.beginning_sequence_number + 1
        for info in infos
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)

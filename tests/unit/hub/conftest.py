"""Fixtures for the local event log's tests: a fresh log, and a clock the tests move by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paysim_cli.hub import local_log
from paysim_cli.hub.local_log import LocalEventLog


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "hub" / "events.db"


@pytest.fixture
def log(log_path: Path) -> Iterator[LocalEventLog]:
    with LocalEventLog.create(log_path, 4) as created:
        yield created


class Clock:
    """Stands in for the log's wall clock (microseconds since the epoch)."""

    def __init__(self, now_us: int) -> None:
        self.now_us = now_us

    def __call__(self) -> int:
        return self.now_us

    def advance(self, seconds: float) -> None:
        self.now_us += int(seconds * 1_000_000)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(1_738_324_800_000_000)  # 2025-01-31T12:00:00Z
    monkeypatch.setattr(local_log, "_now_us", fake)
    return fake

"""Simulator integration fixtures: the real local event log in the test's state directory."""

from __future__ import annotations

import pytest

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings


@pytest.fixture
def local_log(settings: Settings) -> LocalEventLog:
    """An empty local event log where `paysim simulate` publishes by default (what `local up` creates)."""
    log = LocalEventLog.create(settings.event_log_path, settings.hub_partitions)
    log.close()
    return LocalEventLog.open(settings.event_log_path)

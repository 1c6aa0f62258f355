"""A check in a forked child: its result comes back whole; a child that dies or hangs is reported."""

from __future__ import annotations

import os
import time

import pytest

from paysim_cli.health import forked
from paysim_cli.health.checks.base import result
from paysim_cli.health.forked import forkable, start_forked
from paysim_cli.health.models import CheckName, CheckResult, CheckStatus


def _lost(why: str) -> CheckResult:
    return result(CheckName.BLOB, CheckStatus.UNKNOWN, why)


def test_the_childs_result_comes_back_whole() -> None:
    def run() -> CheckResult:
        return result(
            CheckName.BLOB, CheckStatus.OK, f"from {os.getpid()}", value="writable", container="raw-events"
        )

    answer = start_forked(CheckName.BLOB, run, 30, _lost).result(timeout=30)

    assert answer.status is CheckStatus.OK
    assert answer.message != f"from {os.getpid()}"  # it ran in another process
    assert (answer.value, answer.details) == ("writable", {"container": "raw-events"})


def test_a_child_that_dies_without_an_answer_is_reported_lost() -> None:
    def run() -> CheckResult:
        os._exit(3)

    answer = start_forked(CheckName.BLOB, run, 30, _lost).result(timeout=30)

    assert answer.status is CheckStatus.UNKNOWN
    assert "ended without an answer (exit code 3)" in answer.message


def test_a_child_still_running_at_its_time_out_is_killed() -> None:
    def run() -> CheckResult:
        time.sleep(600)
        raise AssertionError("not reached")

    started = time.monotonic()
    answer = start_forked(CheckName.BLOB, run, 0.5, _lost).result(timeout=30)

    assert time.monotonic() - started < 30
    assert answer.status is CheckStatus.UNKNOWN
    assert "killed by signal 9" in answer.message


def test_only_a_single_threaded_process_forks_and_each_check_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(forked, "_forked_before", set())
    monkeypatch.delitem(forked.sys.modules, "azure.storage.blob", raising=False)
    monkeypatch.setattr(forked.threading, "active_count", lambda: 2)
    assert forkable([CheckName.BLOB, CheckName.LAG]) == []

    monkeypatch.setattr(forked.threading, "active_count", lambda: 1)
    assert forkable([CheckName.BLOB, CheckName.LAG]) == [CheckName.BLOB]
    assert forkable([CheckName.BLOB]) == []  # a later look loads the SDK in its own process

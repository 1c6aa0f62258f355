"""The worker pool: reports and exits through pipes and sentinels, stop requests, restarts, kills, and a
worker's end always reported (a result, an error by its fields, or a crash), never silence."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.worker_process import (
    RestartBudget,
    RestartPolicy,
    WorkerChannel,
    WorkerExit,
    WorkerMessage,
    WorkerPool,
    reported_error,
    reporting_errors,
)

WAIT_SECONDS = 60.0  # generous: spawning is slow on a loaded machine; nothing waits this long when it works


def _collect(pool: WorkerPool, until: Any, timeout: float = WAIT_SECONDS) -> list[WorkerMessage]:
    """Receive until `until(messages)` holds; fails the test (rather than hanging) after `timeout`."""
    messages: list[WorkerMessage] = []
    deadline = time.monotonic() + timeout
    while not until(messages):
        assert time.monotonic() < deadline, f"only got {[(m.worker, m.kind) for m in messages]}"
        messages.extend(pool.receive(0.2))
    return messages


def _exited(count: int) -> Any:
    return lambda messages: sum(message.kind == "exited" for message in messages) >= count


def _report_and_finish(channel: WorkerChannel, plan: int) -> None:
    channel.post("ready")
    channel.post("progress", plan * 10)
    channel.post("result", plan * 100)


def _until_stopped(channel: WorkerChannel, plan: str) -> None:
    channel.post("ready", os.getpid())
    while not channel.sleep(0.05):
        pass
    channel.post("result", plan)


def _ignoring_stop(channel: WorkerChannel, plan: None) -> None:
    channel.post("ready")
    while True:
        time.sleep(0.05)


def _flooding(channel: WorkerChannel, plan: None) -> None:
    """Big reports as fast as it can: a kill lands in the middle of one."""
    channel.post("ready")
    while True:
        channel.post("progress", b"x" * 1_000_000)


def _raising(channel: WorkerChannel, plan: str) -> None:
    if plan == "paysim":
        raise PaysimError("hub_busy", "busy", "wait", exit_code=ExitCode.CONFLICT)
    raise ZeroDivisionError("division by zero")


def _waiting_for_start(channel: WorkerChannel, plan: None) -> None:
    channel.post("ready")
    channel.post("result", channel.wait_start())


def _parent_death_signal(channel: WorkerChannel, plan: None) -> None:
    import ctypes

    value = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
    channel.post("result", value.value)


def test_reports_arrive_in_order_then_the_exit() -> None:
    pool = WorkerPool(_report_and_finish, [1, 2], name="test-pool", hint="hint")
    pool.start()
    try:
        messages = _collect(pool, _exited(2))
    finally:
        pool.shutdown(5)
    for worker in (0, 1):
        mine = [message for message in messages if message.worker == worker]
        assert [message.kind for message in mine] == ["ready", "progress", "result", "exited"]
        assert [message.payload for message in mine[1:3]] == [(worker + 1) * 10, (worker + 1) * 100]
        ended = mine[-1].payload
        assert (ended.worker, ended.exitcode, ended.ended_with) == (worker, 0, "result")
    assert pool.running() == []


def test_stop_reaches_every_worker_through_its_control_pipe() -> None:
    pool = WorkerPool(_until_stopped, ["a", "b"], name="test-pool", hint="hint")
    pool.start()
    try:
        ready = _collect(pool, lambda messages: sum(m.kind == "ready" for m in messages) == 2)
        assert {message.payload for message in ready} == set(pool.pids().values())
        pool.stop()
        messages = _collect(pool, _exited(2))
    finally:
        pool.shutdown(5)
    assert sorted(message.payload for message in messages if message.kind == "result") == ["a", "b"]


def test_a_common_start_is_broadcast_and_a_stop_first_releases_the_wait() -> None:
    pool = WorkerPool(_waiting_for_start, [None, None], name="test-pool", hint="hint")
    pool.start()
    try:
        _collect(pool, lambda messages: sum(m.kind == "ready" for m in messages) == 2)
        pool.broadcast("start", 12.5)
        started = _collect(pool, _exited(2))
    finally:
        pool.shutdown(5)
    assert [m.payload for m in started if m.kind == "result"] == [12.5, 12.5]

    stopped_first = WorkerPool(_waiting_for_start, [None], name="test-pool", hint="hint")
    stopped_first.start()
    try:
        _collect(stopped_first, lambda messages: any(m.kind == "ready" for m in messages))
        stopped_first.stop()
        messages = _collect(stopped_first, _exited(1))
    finally:
        stopped_first.shutdown(5)
    assert [m.payload for m in messages if m.kind == "result"] == [None]


def test_a_worker_killed_mid_message_is_an_exit_never_a_hang() -> None:
    pool = WorkerPool(_flooding, [None], name="test-pool", hint="hint")
    pool.start()
    try:
        _collect(pool, lambda messages: sum(m.kind == "progress" for m in messages) >= 3)
        os.kill(pool.pids()[0], signal.SIGKILL)
        messages = _collect(pool, _exited(1))
    finally:
        pool.shutdown(5)
    ended = messages[-1].payload
    assert (ended.exitcode, ended.ended_with) == (-signal.SIGKILL, None)
    assert ended.describe() == "was killed by signal 9 (SIGKILL)"


def test_shutdown_kills_a_worker_that_does_not_stop_and_skips_a_dead_one(tmp_path: Path) -> None:
    pid_file = tmp_path / "pool.json"
    pool = WorkerPool(_ignoring_stop, [None, None], name="test-pool", hint="hint", pid_file=pid_file)
    pool.start()
    _collect(pool, lambda messages: sum(m.kind == "ready" for m in messages) == 2)
    document = orjson.loads(pid_file.read_bytes())
    assert document["pid"] == os.getpid()
    pids = pool.pids()
    assert [(w["worker"], w["pid"], w["ready"]) for w in document["workers"]] == [
        (0, pids[0], True),
        (1, pids[1], True),
    ]
    os.kill(pids[0], signal.SIGKILL)
    started = time.monotonic()
    pool.shutdown(0.5)
    assert time.monotonic() - started < WAIT_SECONDS
    assert pool.running() == []
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids.values()
    )
    assert not pid_file.exists()


def test_a_restarted_worker_is_a_new_process_and_no_restart_after_stop() -> None:
    pool = WorkerPool(_until_stopped, ["only"], name="test-pool", hint="hint")
    pool.start()
    try:
        (first,) = [m.payload for m in _collect(pool, lambda ms: any(m.kind == "ready" for m in ms))]
        os.kill(first, signal.SIGKILL)
        _collect(pool, _exited(1))
        pool.restart(0, after=0.1)
        assert pool.pending_restarts() == [0]
        (second,) = [m.payload for m in _collect(pool, lambda ms: any(m.kind == "ready" for m in ms))]
        assert second != first
        pool.stop()
        pool.restart(0, after=0)
        assert pool.pending_restarts() == []
    finally:
        pool.shutdown(5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_worker_asks_the_kernel_to_die_with_its_parent() -> None:
    pool = WorkerPool(_parent_death_signal, [None], name="test-pool", hint="hint")
    pool.start()
    try:
        messages = _collect(pool, _exited(1))
    finally:
        pool.shutdown(5)
    assert [m.payload for m in messages if m.kind == "result"] == [int(signal.SIGKILL)]


@pytest.mark.parametrize(
    ("plan", "expected", "exitcode"),
    [
        ("paysim", ("hub_busy", "worker 0: busy", "wait", ExitCode.CONFLICT), 0),
        ("crash", ("worker_crashed", "worker 0: ZeroDivisionError: division by zero", "hint", 1), 1),
    ],
)
def test_a_failure_is_reported_by_its_fields_before_the_exit(
    plan: str, expected: tuple[Any, ...], exitcode: int
) -> None:
    pool = WorkerPool(_raising, [plan], name="test-pool", hint="hint")
    pool.start()
    try:
        error, ended = _collect(pool, _exited(1))
    finally:
        pool.shutdown(5)
    failure = reported_error(error.payload, "worker 0")
    assert (failure.code, failure.message, failure.hint, failure.exit_code) == expected
    assert (ended.payload.ended_with, ended.payload.exitcode) == ("error", exitcode)


def test_reporting_errors_posts_nothing_for_a_clean_block() -> None:
    receive, send = multiprocessing.Pipe(duplex=False)
    control, _ = multiprocessing.Pipe(duplex=False)
    with reporting_errors(WorkerChannel(0, send, control), "hint"):
        pass
    assert not receive.poll()


def test_describe_an_exit() -> None:
    assert WorkerExit(1, 10, 3, None).crash("pipeline worker 1", "h").message == (
        "pipeline worker 1 exited with status 3"
    )
    assert WorkerExit(1, 10, 0, None).describe() == "exited without reporting how it ended"
    assert WorkerExit(1, 10, -15, None).describe() == "was killed by signal 15 (SIGTERM)"


def test_restart_delays_double_per_worker_and_the_limit_holds_within_the_window() -> None:
    budget = RestartBudget(RestartPolicy(limit=3, window_seconds=10, base_delay=0.5, max_delay=1.5))
    assert budget.delay(0, now=100.0) == 0.5
    assert budget.delay(0, now=101.0) == 1.0
    assert budget.delay(1, now=102.0) == 0.5  # another worker starts its own backoff
    assert budget.delay(0, now=103.0) is None  # a 4th crash within 10 s: more than 3 restarts
    assert budget.restarts == 3
    # Crashes older than the window no longer count: the backoff and the budget recover.
    assert budget.delay(0, now=120.0) == 0.5
    assert budget.recent == 1
    assert RestartBudget(RestartPolicy(base_delay=1, max_delay=2)).delay(0, now=0) == 1

"""The host supervises its workers: stopping never waits for a dead one, a crash loop ends in a clear
error, a killed host leaves no worker behind. (Kill -9 at random points with exact totals: the real
Function app's test in tests/integration/pipeline.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import psutil
import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.pipeline.host import PipelineHost, PipelineRequest, host_pid_file, run_pipeline
from paysim_cli.settings import Settings
from paysim_cli.worker_process import RestartPolicy

if TYPE_CHECKING:
    from conftest import Publish, Recording

WAIT_SECONDS = 60.0  # a bound so a regression fails instead of hanging; nothing waits this long when it works


def _request(fixture_app: Path, **options: object) -> PipelineRequest:
    values: dict[str, object] = {
        "function_dir": fixture_app,
        "function_name": "record_batches",
        "consumer_group": "pipeline",
        "batch_size": 20,
        "max_wait_ms": 20,
    }
    return PipelineRequest.model_validate(values | options)


def test_stopping_right_after_a_kill_does_not_wait_for_the_dead_worker(
    fixture_app: Path, host_settings: Settings
) -> None:
    with PipelineHost(host_settings, _request(fixture_app, workers=5)) as host:  # more than the partitions
        host.wait_ready(WAIT_SECONDS)
        os.kill(host.worker_pids()[4], signal.SIGKILL)
        started = time.monotonic()
        report = host.stop("interrupted")
        stopped_in = time.monotonic() - started
    assert stopped_in < WAIT_SECONDS
    assert (report.status, report.workers, report.restarts) == ("interrupted", 5, 0)
    assert not host.pid_file.exists()


def test_a_crash_loop_ends_in_the_restart_limit_error(
    fixture_app: Path,
    host_settings: Settings,
    publish: Publish,
    recording: Recording,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRASH_INVOCATIONS", "1")  # every invocation kills its worker
    publish([OutgoingEvent(b"poison", partition_id="0")])
    request = _request(
        fixture_app,
        workers=1,
        until_drained=True,
        restarts=RestartPolicy(limit=2, window_seconds=60, base_delay=0.05, max_delay=0.1),
    )
    with pytest.raises(PaysimError) as raised:
        run_pipeline(host_settings, request)
    error = raised.value
    assert (error.code, error.exit_code) == ("worker_restart_limit", ExitCode.FAILURE)
    assert error.message == (
        "pipeline workers crashed 3 times within 60 s, more than the 2 restarts allowed; "
        "the last: pipeline worker 0 was killed by signal 9 (SIGKILL)"
    )
    assert len(recording.attempts) == 3


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (a dead child of init that nobody has reaped yet); pid reuse is ruled out
    by psutil's creation-time check."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_kill_9_of_the_host_leaves_no_process_behind(
    fixture_app: Path, host_settings: Settings, recording: Recording
) -> None:
    command = [
        sys.executable,
        "-m",
        "paysim_cli",
        "--state-dir",
        str(host_settings.state_dir),
        "pipeline",
        "run",
        "--function-dir",
        str(fixture_app),
        "--function",
        "record_batches",
        "--workers",
        "3",
        "--json",
    ]
    env = os.environ | {
        "PAYSIM_DATABASE_URL": "postgresql://u@127.0.0.1:1/x",
        "PAYSIM_BLOB_CONNECTION_STRING": "x",
    }
    host = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pid_file = host_pid_file(host_settings.state_dir, host.pid)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        workers: list[dict[str, object]] = []
        while len([worker for worker in workers if worker["ready"]]) < 3:
            assert host.poll() is None, host.stderr.read() if host.stderr else ""
            assert time.monotonic() < deadline, "the host's workers did not get ready"
            time.sleep(0.1)
            workers = orjson.loads(pid_file.read_bytes())["workers"] if pid_file.exists() else []
        family = psutil.Process(host.pid).children(recursive=True)
        assert {worker["pid"] for worker in workers} <= {process.pid for process in family}
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait()
    deadline = time.monotonic() + WAIT_SECONDS
    assert len(family) >= 4  # three workers and multiprocessing's resource tracker
    while any(_running(process) for process in family):
        assert time.monotonic() < deadline, [process.cmdline() for process in family if _running(process)]
        time.sleep(0.1)

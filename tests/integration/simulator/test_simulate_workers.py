"""A simulate worker that dies ends the run with a clear error, and a manifest of what the others sent."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import orjson
import psutil

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.runs.manifest import RunManifest
from paysim_cli.settings import Settings

WAIT_SECONDS = 60.0


def _events(log: LocalEventLog) -> int:
    infos = [log.partition_info(partition) for partition in log.partition_ids()]
    return sum(0 if info.is_empty else info.last_enqueued_sequence_number + 1 for info in infos)


def _workers(pid: int) -> list[psutil.Process]:
    """The simulator's worker processes: the children of its fork server."""
    servers = [
        child
        for child in psutil.Process(pid).children()
        if "multiprocessing.forkserver" in " ".join(child.cmdline())
    ]
    return [worker for server in servers for worker in server.children()]


def test_a_killed_worker_stops_the_run_with_its_manifest(
    settings: Settings, local_log: LocalEventLog
) -> None:
    command = [sys.executable, "-m", "paysim_cli", "--state-dir", str(settings.state_dir), "simulate"]
    options = ["--workers", "2", "--rate", "400", "--duration", "60", "--seed", "3", "--json"]
    run = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + WAIT_SECONDS
    workers: list[psutil.Process] = []
    while len(workers) < 2 or _events(local_log) < 300:  # both running, and sending
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.1)
        workers = _workers(run.pid)
    os.kill(workers[1].pid, signal.SIGKILL)
    stdout, _ = run.communicate(timeout=WAIT_SECONDS)

    assert run.returncode == 1
    error = orjson.loads(stdout)["error"]
    assert error["code"] == "worker_crashed"
    assert error["message"].startswith("simulate worker ")
    assert "was killed by signal 9 (SIGKILL); the run stopped. Its manifest " in error["message"]
    (run_dir,) = (settings.state_dir / "runs").iterdir()
    manifest = RunManifest.model_validate_json((run_dir / "manifest.json").read_bytes())
    assert len(manifest.failed_workers) == 1
    # The survivor was stopped long before its 60 s; its events are all counted, the dead one's are not.
    assert (manifest.finished_at - manifest.started_at).total_seconds() < 50
    counted = re.search(r"counts the ([\d,]+) events the other workers delivered", error["message"])
    reported = re.search(r"the failed worker had sent ([\d,]+) or more, not counted there", error["message"])
    assert counted is not None
    assert reported is not None
    assert int(counted[1].replace(",", "")) == manifest.totals.delivered > 0
    # What the dead worker had reported sending is in the log, and not in the manifest.
    assert manifest.totals.delivered + int(reported[1].replace(",", "")) <= _events(local_log)
    assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers)

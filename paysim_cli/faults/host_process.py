"""The pipeline host as a child process (`paysim pipeline run`), so that a fault can kill -9 it (or one
of its workers, by the pids its pid file lists) and a new host can take over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psutil

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.pipeline.host import host_pid_file
from paysim_cli.settings import Settings

STOP_TIMEOUT_SECONDS = 120.0


class HostProcess:
    """One `paysim pipeline run` process at a time; `log_dir` keeps each one's stderr."""

    def __init__(self, settings: Settings, *, workers: int, transport: HubTarget, log_dir: Path) -> None:
        self.settings = settings
        self.workers, self.transport = workers, transport
        self.log_dir = log_dir
        self.started = 0  # hosts started so far
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.started += 1
        command = [
            *(sys.executable, "-m", "paysim_cli", "--state-dir", str(self.settings.state_dir)),
            *(
                "pipeline",
                "run",
                "--workers",
                str(self.workers),
                "--transport",
                self.transport.value,
                "--json",
            ),
        ]
        with (self.log_dir / f"host-{self.started}.log").open("wb") as log:
            self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)

    def worker_pids(self) -> dict[int, int]:
        """Worker number -> pid of the host's workers that have loaded the function app."""
        return {worker: pid for worker, pid, ready in self._listed() if ready}

    def _listed(self) -> list[tuple[int, int, bool]]:
        if self._process is None:
            return []
        try:
            document: dict[str, Any] = orjson.loads(
                host_pid_file(self.settings.state_dir, self._process.pid).read_bytes()
            )
        except (OSError, orjson.JSONDecodeError):
            return []  # not written yet, or being replaced
        return [(item["worker"], item["pid"], bool(item["ready"])) for item in document.get("workers", [])]

    def all_ready(self) -> bool:
        return self.alive() and len(self.worker_pids()) == self.workers

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> list[int]:
        """kill -9 of the host; the pids of the workers it had, which must die with it."""
        assert self._process is not None
        workers = [pid for _, pid, _ in self._listed()]
        self._process.kill()
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        # A killed host leaves its pid file behind; nothing else will remove it.
        host_pid_file(self.settings.state_dir, self._process.pid).unlink(missing_ok=True)
        self._process = None
        return workers

    def stop(self) -> dict[str, Any]:
        """SIGTERM, as an operator stops a host: it finishes its invocations and prints its report."""
        process = self._process
        assert process is not None, "start the host first"
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise PaysimError(
                "host_stop_timeout",
                f"the pipeline host (pid {process.pid}) did not stop within {STOP_TIMEOUT_SECONDS:.0f} s",
                f"see its log in {self.log_dir}",
                exit_code=ExitCode.FAILURE,
            ) from None
        finally:
            self._process = None
        return _report(output, process.returncode, self.log_dir)

    def close(self) -> None:
        """Whatever happened, no host outlives the demo."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None


def _report(output: bytes, returncode: int, log_dir: Path) -> dict[str, Any]:
    """The host's report: in `data`, or (stopped by a signal, exit 143) inside the error document."""
    try:
        document: dict[str, Any] = orjson.loads(output)
    except orjson.JSONDecodeError:
        document = {}
    report = document.get("data") or (document.get("error") or {}).get("report")
    if not isinstance(report, dict):
        raise PaysimError(
            "host_failed",
            f"the pipeline host exited {returncode} without a report",
            f"see its log in {log_dir}",
            exit_code=ExitCode.FAILURE,
        )
    return report


def processes_alive(pids: list[int]) -> list[int]:
    """Those of `pids` still running (a zombie counts as gone)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to `timeout` s for `pids` to end; those still running."""
    deadline = time.monotonic() + timeout
    while (alive := processes_alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def kill_pid(pid: int) -> None:
    """kill -9 by pid; a process already gone is fine (it died before the fault)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return

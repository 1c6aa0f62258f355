"""Small process helpers the local stack shares: free ports, liveness, clean termination."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from paysim_cli.errors import ExitCode, PaysimError

logger = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_accepts(port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_port_free(port: int, component: str, setting: str) -> None:
    if port_accepts(port):
        raise PaysimError(
            "port_in_use",
            f"port {port} on 127.0.0.1 is already in use, so {component} cannot listen on it",
            f"stop what uses it, or set {setting} to another port (0 picks a free one)",
            exit_code=ExitCode.CONFLICT,
        )


def process_alive(pid: int | None, name_contains: str) -> bool:
    """True when `pid` runs and its command line mentions `name_contains` (guards against pid reuse)."""
    if pid is None or not psutil.pid_exists(pid):
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return name_contains in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process outlives `timeout`. A zombie counts as gone: the process
    that started it (e.g. a test runner that ran `local up` in-process) may never reap it."""
    try:
        process = psutil.Process(pid)
        process.terminate()
    except psutil.NoSuchProcess:
        return
    if not wait_until(lambda: not _running(process), timeout):
        process.kill()


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(condition_met: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `condition_met` until it returns true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition_met():
            return True
        time.sleep(interval)
    return condition_met()


def log_tail(path: Path, lines: int = 5) -> str:
    if not path.exists():
        return ""
    return " | ".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])


def chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), uid, gid)


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` has a listening socket on `port`."""
    try:
        return any(
            connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port
            for connection in psutil.Process(pid).net_connections("inet")
        )
    except psutil.Error:
        return False


def start_service(
    command: list[str],
    *,
    port: int,
    log_file: Path,
    code: str,
    label: str,
    timeout: float,
    env: dict[str, str] | None = None,
) -> int:
    """Start `command` detached from this process (its own session, output to `log_file`) and wait
    until it listens on `port`. Returns its pid; a time-out or an early exit is a one-line error."""
    logger.info("starting %s on port %d (log: %s)", label, port, log_file)
    logger.debug("%s", " ".join(command))
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    # Our process must be the one listening: another stack's service that took the port first answers
    # too, while ours fails to bind and exits.
    if not wait_until(lambda: process.poll() is not None or listens_on(process.pid, port), timeout):
        terminate(process.pid)
        raise PaysimError(
            f"{code}_start_timeout",
            f"{label} did not listen on port {port} within {timeout:.0f} s",
            f"see {log_file}",
            exit_code=ExitCode.UNAVAILABLE,
        )
    if process.poll() is not None:
        raise PaysimError(
            f"{code}_failed",
            f"{label} exited with status {process.returncode}: {log_tail(log_file)}",
            f"see {log_file}",
            exit_code=ExitCode.EXTERNAL,
        )
    return process.pid

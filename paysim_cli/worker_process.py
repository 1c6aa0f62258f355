"""The one pool of worker processes every multi-process command uses (`simulate --workers`, `pipeline run`).

Each worker is forked from multiprocessing's fork server (spawned where there is none): a clean process
that imported the pool's heavy modules once, so no state of the parent is shared and a restart takes
milliseconds instead of an interpreter start. Each worker has two pipes of its own: reports up (ready,
progress, result, error) and control down (start, stop). The parent waits on the report pipes and the
processes' sentinels together with `multiprocessing.connection.wait`, so a message, an exit and a
time-out wake it alike. Nothing here is a lock a killed process can leave taken (no Queue, Event,
Condition or Value): a worker killed mid-message only closes its pipe, which the parent reads as its
end. A worker dies with its parent: a thread watches the control pipe (EOF once the parent is gone)
and, on Linux, the kernel sends the parent-death signal. Restarting a crashed worker is the caller's
decision (`RestartBudget`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from pydantic import Field

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.interrupts import STOP_SIGNALS, leave_stop_signals_to_parent

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkServerContext, SpawnContext
    from multiprocessing.process import BaseProcess

# One cap for every command that starts worker processes (simulate, pipeline run, demo).
MAX_WORKERS = 32
Workers = Annotated[int, Field(ge=1, le=MAX_WORKERS)]

ReportKind = Literal["ready", "progress", "result", "error"]
# The status of a worker that found its parent gone; nobody waits for it, but it reads in a process list.
PARENT_GONE_EXIT = 75
# prctl(2) option: the signal the kernel sends this process when the thread that created it ends.
PR_SET_PDEATHSIG = 1
# How long killed workers get to be reaped before shutdown moves on (a process in the D state may not be).
KILL_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerExit:
    """How a worker process ended, and the last report it made before (None: it ended without one)."""

    worker: int
    pid: int
    exitcode: int | None
    ended_with: Literal["result", "error"] | None

    def describe(self) -> str:
        if self.exitcode is not None and self.exitcode < 0:
            try:
                name = signal.Signals(-self.exitcode).name
            except ValueError:
                name = "unknown signal"
            return f"was killed by signal {-self.exitcode} ({name})"
        if self.exitcode == 0 and self.ended_with is None:
            return "exited without reporting how it ended"
        return f"exited with status {self.exitcode}"

    def crash(self, label: str, hint: str) -> PaysimError:
        return PaysimError("worker_crashed", f"{label} {self.describe()}", hint)


@dataclass(frozen=True)
class WorkerMessage:
    """A report from worker `worker` (`ready`, `progress`, `result`, `error`), or `exited` with a
    `WorkerExit` once its process ended, after everything it reported."""

    worker: int
    kind: str
    payload: Any


def reported_error(payload: Any, label: str) -> PaysimError:
    """The PaysimError an `error` report carries, its message prefixed with which worker it was."""
    code, message, hint, exit_code = payload
    return PaysimError(code, f"{label}: {message}", hint, exit_code=ExitCode(exit_code))


@dataclass(frozen=True)
class RestartPolicy:
    """When a supervised worker that crashed is started again: after a backoff that doubles with each
    crash of the same worker within `window_seconds`, and never more than `limit` times within it."""

    limit: int = 10
    window_seconds: float = 60.0
    base_delay: float = 0.25
    max_delay: float = 5.0


class RestartBudget:
    """The crashes of the last window, to decide each restart's delay and when to give up."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self._crashes: deque[tuple[float, int]] = deque()
        self.restarts = 0

    def delay(self, worker: int, now: float) -> float | None:
        """Note a crash of `worker` at `now`: seconds to wait before restarting it, None when the
        crashes within the window are more than the policy's limit."""
        while self._crashes and self._crashes[0][0] <= now - self.policy.window_seconds:
            self._crashes.popleft()
        self._crashes.append((now, worker))
        if len(self._crashes) > self.policy.limit:
            return None
        self.restarts += 1
        same = sum(1 for _, crashed in self._crashes if crashed == worker)
        return float(min(self.policy.max_delay, self.policy.base_delay * 2 ** (same - 1)))

    @property
    def recent(self) -> int:
        return len(self._crashes)


class WorkerChannel:
    """A worker's end of the pool: post reports; see the parent's common start and stop request."""

    def __init__(self, worker: int, reports: Connection, control: Connection) -> None:
        self.worker = worker
        self._reports, self._control = reports, control
        self._stop = threading.Event()  # within this process only: nothing another process can hold
        self._started = threading.Event()
        self._start_payload: Any = None

    def post(self, kind: ReportKind, payload: Any = None) -> None:
        self._reports.send((kind, payload))

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; returns early (True) when the parent asks to stop."""
        return self._stop.wait(seconds)

    def wait_start(self) -> Any:
        """Block until the parent's common start and return what it sent; None when told to stop first."""
        self._started.wait()
        return self._start_payload

    def watch_parent(self) -> None:
        """Read the control pipe until the parent goes away, then end this process at once: what it had
        in flight is redelivered or counted by nobody, and a worker without its parent is invisible."""
        while True:
            try:
                kind, payload = self._control.recv()
            except (EOFError, OSError):
                os._exit(PARENT_GONE_EXIT)
            if kind == "start":
                self._start_payload = payload
            else:  # stop
                self._stop.set()
            self._started.set()


@contextmanager
def reporting_errors(channel: WorkerChannel, hint: str) -> Iterator[None]:
    """Post an `error` report (code, message, hint, exit code) for any failure in the block; a crash is
    re-raised after that so its traceback still reaches the worker's stderr."""
    try:
        yield
    except PaysimError as error:
        channel.post("error", (error.code, error.message, error.hint, int(error.exit_code)))
    except BaseException as error:
        channel.post(
            "error", ("worker_crashed", f"{type(error).__name__}: {error}", hint, int(ExitCode.FAILURE))
        )
        raise


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent (the fork server, or the pool's process under
    spawn) dies. The control-pipe watcher covers other systems, and a parent gone before this call."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def _start_fork_server(context: ForkServerContext | SpawnContext) -> None:
    """Start the fork server with SIGINT and SIGTERM ignored (an ignored signal survives exec). Both
    reach the whole process group, and a server they killed would take every worker with it (their
    parent-death signal) before the host could stop them in order."""
    if (
        context.get_start_method() != "forkserver"
        or threading.current_thread() is not threading.main_thread()
    ):
        return
    from multiprocessing import forkserver

    previous = {number: signal.signal(number, signal.SIG_IGN) for number in STOP_SIGNALS}
    try:
        forkserver.ensure_running()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _start_context(preload: Sequence[str]) -> ForkServerContext | SpawnContext:
    """The fork server where the platform has one, else spawn. The server is started once per process,
    by its first pool, importing that pool's `preload` (a module that fails to import is skipped)."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return context


def _worker_entry(
    main: Callable[[WorkerChannel, Any], None],
    worker: int,
    plan: Any,
    reports: Connection,
    control: Connection,
    environment: dict[str, str],
    hint: str,
) -> None:
    """Where a worker starts: tie its life to the parent's, take the pool's environment (a forked
    worker has the fork server's), then run `main` reporting how it ends."""
    _die_with_parent()
    os.environ.clear()
    os.environ.update(environment)
    leave_stop_signals_to_parent()
    channel = WorkerChannel(worker, reports, control)
    threading.Thread(target=channel.watch_parent, name="paysim-parent-watch", daemon=True).start()
    with reporting_errors(channel, hint):
        main(channel, plan)


@dataclass
class _Slot:
    process: BaseProcess | None = None
    reports: Connection | None = None
    control: Connection | None = None
    ready: bool = False
    ended_with: Literal["result", "error"] | None = None


class WorkerPool:
    """Worker processes, one per plan, each running `main(channel, plan)` (a module-level function).

    `receive` returns their reports and their exits; `restart` starts a worker again after a delay;
    `shutdown` asks all to stop, waits, and kills what is left. `preload` names the modules the workers
    import anyway (for the fork server, if this pool starts it). With `pid_file`, the parent's and the
    workers' pids are kept there (JSON) while the pool runs, for tools that inject faults.
    """

    def __init__(
        self,
        main: Callable[[WorkerChannel, Any], None],
        plans: Sequence[Any],
        *,
        name: str,
        hint: str,
        preload: Sequence[str] = (),
        pid_file: Path | None = None,
    ) -> None:
        self._context = _start_context(preload)
        self._main, self._plans, self._name, self._hint = main, list(plans), name, hint
        self._pid_file = pid_file
        self._slots = [_Slot() for _ in self._plans]
        self._restart_at: dict[int, float] = {}
        self._stopping = False

    def start(self) -> None:
        _start_fork_server(self._context)
        for worker in range(len(self._plans)):
            self._spawn(worker)

    def _spawn(self, worker: int) -> None:
        reports_in, reports_out = self._context.Pipe(duplex=False)
        control_in, control_out = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_entry,
            args=(
                self._main,
                worker,
                self._plans[worker],
                reports_out,
                control_in,
                dict(os.environ),
                self._hint,
            ),
            name=f"{self._name}-{worker}",
            daemon=True,  # should this process exit without shutdown, multiprocessing ends them too
        )
        try:
            process.start()
        finally:
            # The worker holds its own copies now: EOF on the report pipe must mean the worker ended.
            reports_out.close()
            control_in.close()
        self._slots[worker] = _Slot(process, reports_in, control_out)
        self._write_pid_file()

    def restart(self, worker: int, *, after: float) -> None:
        """Start worker `worker` again (it has ended) in `after` seconds, unless the pool stops first."""
        if not self._stopping:
            self._restart_at[worker] = time.monotonic() + after

    def running(self) -> list[int]:
        return [worker for worker, slot in enumerate(self._slots) if slot.process is not None]

    def pending_restarts(self) -> list[int]:
        return sorted(self._restart_at)

    def pids(self) -> dict[int, int]:
        return {
            worker: int(slot.process.pid)
            for worker, slot in enumerate(self._slots)
            if slot.process is not None and slot.process.pid is not None
        }

    def receive(self, timeout: float) -> list[WorkerMessage]:
        """What the workers report within `timeout` seconds (returning once there is something), and an
        `exited` message for each worker that ended, after all it reported. Starts due restarts."""
        self._start_due()
        from multiprocessing.connection import wait

        waitables: dict[Any, int] = {}
        for worker, slot in enumerate(self._slots):
            if slot.process is not None:
                waitables[slot.process.sentinel] = worker
                if slot.reports is not None:
                    waitables[slot.reports] = worker
        if self._restart_at:
            timeout = min(timeout, max(0.0, min(self._restart_at.values()) - time.monotonic()))
        if not waitables:
            time.sleep(max(0.0, timeout))
            return []
        messages: list[WorkerMessage] = []
        for worker in sorted({waitables[item] for item in wait(list(waitables), max(0.0, timeout))}):
            messages.extend(self._read(worker))
            process = self._slots[worker].process
            if process is not None and not process.is_alive():  # is_alive() reaps it
                messages.extend(self._read(worker))
                messages.append(self._ended(worker))
        return messages

    def _read(self, worker: int) -> list[WorkerMessage]:
        """Every whole report waiting on the worker's pipe; EOF (or half a message) closes it."""
        slot = self._slots[worker]
        messages = []
        while slot.reports is not None:
            try:
                if not slot.reports.poll():
                    break
                kind, payload = slot.reports.recv()
            except (EOFError, OSError):  # it ended, perhaps in the middle of a message
                slot.reports.close()
                slot.reports = None
                break
            if kind == "ready":
                slot.ready = True
                self._write_pid_file()
            elif kind in ("result", "error"):
                slot.ended_with = kind
            messages.append(WorkerMessage(worker, kind, payload))
        return messages

    def _ended(self, worker: int) -> WorkerMessage:
        slot = self._slots[worker]
        assert slot.process is not None
        slot.process.join()  # already reaped: returns at once
        ended = WorkerExit(worker, int(slot.process.pid or 0), slot.process.exitcode, slot.ended_with)
        self._close(slot)
        self._slots[worker] = _Slot()
        self._write_pid_file()
        return WorkerMessage(worker, "exited", ended)

    def _start_due(self) -> None:
        now = time.monotonic()
        for worker, at in sorted(self._restart_at.items()):
            if at <= now and self._slots[worker].process is None:
                del self._restart_at[worker]
                self._spawn(worker)

    def send(self, worker: int, kind: Literal["start", "stop"], payload: Any = None) -> None:
        control = self._slots[worker].control
        if control is None:
            return
        with contextlib.suppress(OSError):  # it has just died: its exit is reported next
            control.send((kind, payload))

    def broadcast(self, kind: Literal["start", "stop"], payload: Any = None) -> None:
        for worker in self.running():
            self.send(worker, kind, payload)

    def stop(self) -> None:
        """Ask every worker to stop after what it has in flight; no restart happens from now on."""
        self._stopping = True
        self._restart_at.clear()
        self.broadcast("stop")

    def shutdown(self, timeout: float) -> None:
        """Stop, wait up to `timeout` seconds for the workers to end (what they report meanwhile is
        dropped), then kill the rest. A dead worker never holds it up; an exception while waiting
        (a second Ctrl-C) kills at once."""
        self.stop()
        deadline = time.monotonic() + timeout
        try:
            while self.running() and (remaining := deadline - time.monotonic()) > 0:
                self.receive(min(remaining, 0.5))
        finally:
            self._kill_all()

    def _kill_all(self) -> None:
        for slot in self._slots:
            if slot.process is not None and slot.process.is_alive():
                slot.process.kill()
        for index, slot in enumerate(self._slots):
            if slot.process is not None:
                slot.process.join(KILL_WAIT_SECONDS)
                self._close(slot)
                self._slots[index] = _Slot()
        if self._pid_file is not None:
            self._pid_file.unlink(missing_ok=True)

    @staticmethod
    def _close(slot: _Slot) -> None:
        for connection in (slot.reports, slot.control):
            if connection is not None:
                connection.close()
        if slot.process is not None and slot.process.exitcode is not None:
            slot.process.close()

    def _write_pid_file(self) -> None:
        if self._pid_file is None:
            return
        document = {
            "pid": os.getpid(),
            "name": self._name,
            "workers": [
                {"worker": worker, "pid": slot.process.pid, "ready": slot.ready}
                for worker, slot in enumerate(self._slots)
                if slot.process is not None
            ],
        }
        self._pid_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._pid_file.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(document))
        os.replace(temporary, self._pid_file)

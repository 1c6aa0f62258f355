"""SIGINT and SIGTERM: a long-running command stops cleanly and reports; anything else is interrupted.

Ctrl-C sends SIGINT; `timeout`, `kill` and CI systems cancelling a job send SIGTERM. paysim treats
both alike: inside `stop_on_signals` the first one asks the command to stop (a simulation flushes and
writes its manifest, the pipeline finishes its batches), and a second one while it is stopping raises
`Interrupted` at once. Elsewhere `terminate_like_interrupt` turns SIGTERM into `Interrupted` too, so
cleanup (`finally`, context managers) runs instead of the process dying where it stands. The root app
exits 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from paysim_cli.errors import ExitCode

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A stop signal that could not be honoured gracefully; the root app exits 128 + `signum`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Interruption:
    """Whether a stop was asked for, and by which signal. Checked by loops; set by the signal handler."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self, signum: int = signal.SIGINT) -> None:
        if self.signum is None:
            self.signum = signum
        self._event.set()

    @property
    def signal_name(self) -> str | None:
        """SIGINT or SIGTERM once set; None while nobody asked to stop."""
        return None if self.signum is None else signal.Signals(self.signum).name

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.for_signal(self.signum if self.signum is not None else signal.SIGINT)


def exit_code_for(signal_name: str) -> ExitCode:
    """The exit status for a report's `interrupted_by` (SIGINT -> 130, SIGTERM -> 143)."""
    return ExitCode.for_signal(signal.Signals[signal_name])


@contextmanager
def stop_on_signals(interruption: Interruption) -> Iterator[Interruption]:
    """SIGINT and SIGTERM set `interruption`; a second one while it is set raises `Interrupted`.

    Signal handlers belong to the main thread: elsewhere this changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield interruption
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if interruption.is_set():
            raise Interrupted(signum)
        interruption.set(signum)

    previous = {number: signal.signal(number, handle) for number in STOP_SIGNALS}
    try:
        yield interruption
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def terminate_like_interrupt() -> Iterator[None]:
    """For one invocation: SIGTERM raises `Interrupted` as Ctrl-C raises KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def leave_stop_signals_to_parent() -> None:
    """In a worker process: ignore SIGINT and SIGTERM, which reach the whole process group (Ctrl-C,
    a CI runner cancelling a job). The parent turns them into an orderly stop, so a worker always
    gets to report what it did (the events it published count in the run's manifest)."""
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)

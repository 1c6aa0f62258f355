"""SIGINT and SIGTERM, sent for real to this process: a graceful stop first, an interruption second."""

from __future__ import annotations

import os
import signal
import time

import pytest

from paysim_cli.errors import ExitCode
from paysim_cli.interrupts import (
    Interrupted,
    Interruption,
    exit_code_for,
    stop_on_signals,
    terminate_like_interrupt,
)


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # Python runs the handler between bytecodes of the main thread


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_asks_to_stop_and_a_second_interrupts(signum: int) -> None:
    with stop_on_signals(Interruption()) as interruption:
        assert not interruption.is_set()
        _deliver(signum)
        assert interruption.is_set()
        assert interruption.signal_name == signal.Signals(signum).name
        with pytest.raises(Interrupted) as raised:
            _deliver(signal.SIGINT)
    assert raised.value.signum == signal.SIGINT
    assert interruption.exit_code is ExitCode.for_signal(signum)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are put back


def test_elsewhere_sigterm_unwinds_like_ctrl_c() -> None:
    cleaned = []

    def work() -> None:
        with terminate_like_interrupt():
            try:
                _deliver(signal.SIGTERM)
            finally:
                cleaned.append(True)  # what SIGTERM's default action would have skipped

    with pytest.raises(Interrupted) as raised:
        work()
    assert cleaned == [True]
    assert raised.value.signum == signal.SIGTERM


def test_exit_codes() -> None:
    assert (exit_code_for("SIGINT"), exit_code_for("SIGTERM")) == (130, 143)
    assert ExitCode.for_signal(signal.SIGPIPE) is ExitCode.BROKEN_PIPE

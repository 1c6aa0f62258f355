"""A worker process always reports how it ended: a PaysimError by its fields, a crash then re-raised."""

from __future__ import annotations

import queue

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.worker_process import reporting_errors


def test_a_paysim_error_is_posted_with_its_fields() -> None:
    messages: queue.Queue[object] = queue.Queue()
    with reporting_errors(messages, 3, "hint"):
        raise PaysimError("hub_busy", "busy", "wait", exit_code=ExitCode.CONFLICT)
    assert messages.get_nowait() == ("error", 3, ("hub_busy", "busy", "wait", int(ExitCode.CONFLICT)))


def test_a_crash_is_posted_then_reraised() -> None:
    messages: queue.Queue[object] = queue.Queue()
    with pytest.raises(ZeroDivisionError), reporting_errors(messages, 1, "rerun with --workers 1"):
        _ = 1 / 0
    assert messages.get_nowait() == (
        "error",
        1,
        ("worker_crashed", "worker 1: ZeroDivisionError: division by zero", "rerun with --workers 1", 1),
    )


def test_a_clean_block_posts_nothing() -> None:
    messages: queue.Queue[object] = queue.Queue()
    with reporting_errors(messages, 0, "hint"):
        pass
    assert messages.empty()

"""The live view: a Rich table at a terminal, periodic lines without one, nothing in --json mode."""

from __future__ import annotations

import io

from paysim_cli.commands.simulate.live import live_view
from paysim_cli.latency import LatencySummary
from paysim_cli.output import Output
from paysim_cli.simulator.progress import RunProgress


def _progress(elapsed: float, sent: int) -> RunProgress:
    return RunProgress(
        elapsed=elapsed,
        target_rate=1000,
        sent=sent,
        failed=2,
        retried=3,
        backlog=4,
        latency_ms=LatencySummary(p50=1.5, p95=9.25, p99=20.0, max=31.0),
    )


def _output(*, tty: bool, json_mode: bool = False) -> tuple[Output, io.StringIO]:
    stderr = io.StringIO()
    return Output(json_mode=json_mode, stdout=io.StringIO(), stderr=stderr, is_tty=tty), stderr


def test_at_a_terminal_a_live_table() -> None:
    output, stderr = _output(tty=True)
    with live_view(output) as update:
        assert update is not None
        update(_progress(1.0, 1000))
        update(_progress(2.0, 1900))
    text = stderr.getvalue()
    assert "rate: target / achieved" in text
    assert "1,000 / 900 events/s" in text
    assert "1.5 ms / 9.2 ms / 20.0 ms" in text


def test_without_a_terminal_a_line_every_five_seconds() -> None:
    output, stderr = _output(tty=False)
    with live_view(output) as update:
        assert update is not None
        for second in range(11):
            update(_progress(float(second), second * 1000))
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 3  # at 0, 5 and 10 s
    assert "achieved 1,000/s" in lines[1]
    assert "backlog 4" in lines[1]


def test_json_mode_has_no_live_view() -> None:
    output, stderr = _output(tty=True, json_mode=True)
    with live_view(output) as update:
        assert update is None
    assert stderr.getvalue() == ""

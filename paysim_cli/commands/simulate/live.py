"""The live view of a run: a Rich table at a terminal, a line every few seconds otherwise, none in --json."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from paysim_cli.output import Output, latencies

if TYPE_CHECKING:
    from rich.table import Table

    from paysim_cli.simulator.progress import RunProgress

LINE_INTERVAL_SECONDS = 5.0


class _Rates:
    """The achieved rate between two progress reports (the run's mean hides a stall)."""

    def __init__(self) -> None:
        self._elapsed = 0.0
        self._sent = 0

    def achieved(self, progress: RunProgress) -> float:
        span = progress.elapsed - self._elapsed
        rate = (progress.sent - self._sent) / span if span > 0 else 0.0
        self._elapsed, self._sent = progress.elapsed, progress.sent
        return rate


def progress_line(progress: RunProgress, achieved: float) -> str:
    latency = progress.latency_ms
    return (
        f"{progress.elapsed:7.1f} s  target {progress.target_rate:,.0f}/s  achieved {achieved:,.0f}/s  "
        f"sent {progress.sent:,}  retried {progress.retried:,}  failed {progress.failed:,}  "
        f"backlog {progress.backlog:,}  latency p50/p95/p99 {latencies(latency)}"
    )


def _table(progress: RunProgress, achieved: float) -> Table:
    from rich.table import Table

    latency = progress.latency_ms
    table = Table(title="paysim simulate", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in (
        ("elapsed", f"{progress.elapsed:,.1f} s"),
        ("rate: target / achieved", f"{progress.target_rate:,.0f} / {achieved:,.0f} events/s"),
        ("sent", f"{progress.sent:,}"),
        ("retried", f"{progress.retried:,}"),
        ("failed", f"{progress.failed:,}"),
        ("backlog", f"{progress.backlog:,}"),
        ("latency p50 / p95 / p99", latencies(latency)),
    ):
        table.add_row(name, value)
    return table


@contextmanager
def live_view(output: Output) -> Iterator[Callable[[RunProgress], None] | None]:
    """A progress callback for the run, or None in --json mode (stdout carries only the report)."""
    if output.json_mode:
        yield None
        return
    rates = _Rates()
    if not output.interactive:
        next_line = [0.0]

        def print_line(progress: RunProgress) -> None:
            achieved = rates.achieved(progress)
            if progress.elapsed >= next_line[0]:
                output.status(progress_line(progress, achieved))
                next_line[0] = progress.elapsed + LINE_INTERVAL_SECONDS

        yield print_line
        return
    from rich.live import Live

    with Live(console=output.err_console, transient=True, auto_refresh=False) as live:

        def refresh(progress: RunProgress) -> None:
            live.update(_table(progress, rates.achieved(progress)), refresh=True)

        yield refresh

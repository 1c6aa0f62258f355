"""The host's live view: a Rich table at a terminal, a line every few seconds otherwise, none in --json."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from paysim_cli.output import Output, latencies

if TYPE_CHECKING:
    from rich.table import Table

    from paysim_cli.pipeline.host import HostProgress

LINE_INTERVAL_SECONDS = 5.0


def progress_line(progress: HostProgress) -> str:
    latency = progress.latency_ms
    return (
        f"{progress.elapsed:7.1f} s  workers {progress.workers_ready}  events {progress.events:,}  "
        f"batches {progress.batches:,}  failed invocations {progress.failed_invocations:,}  "
        f"lag {progress.lag:,}  end-to-end p50/p95/p99 {latencies(latency)}"
    )


def _table(progress: HostProgress) -> Table:
    from rich.table import Table

    table = Table(
        title=f"paysim pipeline run: {progress.elapsed:,.1f} s, {progress.workers_ready} workers ready"
    )
    for column in ("partition", "last enqueued", "checkpoint", "lag"):
        table.add_column(column, justify="right")
    for partition in progress.partitions:
        table.add_row(
            partition.partition_id,
            str(partition.last_enqueued_sequence_number),
            "none"
            if partition.checkpoint_sequence_number is None
            else str(partition.checkpoint_sequence_number),
            f"{partition.lag:,}",
        )
    latency = progress.latency_ms
    table.caption = (
        f"events {progress.events:,}  batches {progress.batches:,}  failed invocations "
        f"{progress.failed_invocations:,}  lag {progress.lag:,}  end-to-end p50/p95/p99 {latencies(latency)}"
    )
    return table


@contextmanager
def host_view(output: Output) -> Iterator[Callable[[HostProgress], None] | None]:
    """A progress callback for the host, or None in --json mode (stdout carries only the report)."""
    if output.json_mode:
        yield None
        return
    if not output.interactive:
        next_line = [0.0]

        def print_line(progress: HostProgress) -> None:
            if progress.elapsed >= next_line[0]:
                output.status(progress_line(progress))
                next_line[0] = progress.elapsed + LINE_INTERVAL_SECONDS

        yield print_line
        return
    from rich.live import Live

    with Live(console=output.err_console, transient=True, auto_refresh=False) as live:
        yield lambda progress: live.update(_table(progress), refresh=True)

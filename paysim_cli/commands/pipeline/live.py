"""The host's live view: a Rich table at a terminal, a line every few seconds otherwise, none in --json."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from paysim_cli.output import Output, latencies
from paysim_cli.secrets import mask_secrets

if TYPE_CHECKING:
    from rich.table import Table

    from paysim_cli.pipeline.consumer import PartitionRetry
    from paysim_cli.pipeline.report import HostProgress

LINE_INTERVAL_SECONDS = 5.0
ERROR_CHARS = 120  # of a retrying partition's last error, in the view (the report has it whole)


def _restarts(progress: HostProgress) -> str:
    return f"restarts {progress.restarts:,}  " if progress.restarts else ""


def progress_line(progress: HostProgress) -> str:
    latency = progress.latency_ms
    line = (
        f"{progress.elapsed:7.1f} s  workers {progress.workers_ready}  {_restarts(progress)}"
        f"events {progress.events:,}  "
        f"batches {progress.batches:,}  failed invocations {progress.failed_invocations:,}  "
        f"lag {progress.lag:,}  end-to-end p50/p95/p99 {latencies(latency)}"
    )
    for retry in progress.retrying:
        line += f"\n  partition {retry.partition_id} {retrying_state(retry)}: {last_error(retry)}"
    return line


def retrying_state(retry: PartitionRetry) -> str:
    """How long and how often a partition's batch has failed: `retrying: 7 failures in 34 s`."""
    seconds = (datetime.now(UTC) - retry.failing_since).total_seconds()
    return f"retrying: {retry.failed_attempts:,} failures in {seconds:,.0f} s"


def last_error(retry: PartitionRetry) -> str:
    """The error, secrets masked and control characters escaped: it came from outside."""
    text = mask_secrets(retry.last_error)
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 3] + "..."


def _table(progress: HostProgress) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"paysim pipeline run: {progress.elapsed:,.1f} s, {progress.workers_ready} workers ready"
    )
    for column in ("partition", "last enqueued", "checkpoint", "lag"):
        table.add_column(column, justify="right")
    table.add_column("state")
    retrying = {retry.partition_id: retry for retry in progress.retrying}
    for partition in progress.partitions:
        retry = retrying.get(partition.partition_id)
        table.add_row(
            partition.partition_id,
            str(partition.last_enqueued_sequence_number),
            "none"
            if partition.checkpoint_sequence_number is None
            else str(partition.checkpoint_sequence_number),
            f"{partition.lag:,}",
            "" if retry is None else f"[bold red]{retrying_state(retry)}[/]",
        )
    latency = progress.latency_ms
    table.caption = (
        f"events {progress.events:,}  batches {progress.batches:,}  failed invocations "
        f"{progress.failed_invocations:,}  lag {progress.lag:,}  {_restarts(progress)}"
        f"end-to-end p50/p95/p99 {latencies(latency)}"
    )
    for retry in progress.retrying:
        # Text, not markup: an error message may hold brackets.
        table.caption += f"\npartition {retry.partition_id}: {escape(last_error(retry))}"
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

"""`paysim pipeline run`: host the registered function over the local log or Event Hubs until Ctrl-C or
drained."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.hub.options import ConsumerGroupOption
from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context
from paysim_cli.hub.targets import HubTarget

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.pipeline.host import PipelineReport

SourceOption = Annotated[
    HubTarget,
    typer.Option(
        "--source",
        help="local: the embedded event log; eventhub: Event Hubs through the SDK, checkpoints in Blob "
        "(with paysim local up, its AMQP endpoint and Azurite).",
    ),
]
WorkersOption = Annotated[
    int, typer.Option("--workers", "-w", help="Worker processes sharing the partitions.", min=1, max=32)
]


def run(
    ctx: typer.Context,
    source: SourceOption = HubTarget.LOCAL,
    workers: WorkersOption = 2,
    batch_size: Annotated[int, typer.Option(help="Most events per invocation.", min=1, max=10_000)] = 500,
    max_wait_ms: Annotated[
        int,
        typer.Option(help="How long a worker whose partitions are caught up waits for new events.", min=0),
    ] = 50,
    consumer_group: ConsumerGroupOption = None,
    until_drained: Annotated[
        bool, typer.Option(help="Stop once every partition is caught up (and stays so for a second).")
    ] = False,
    function_dir: Annotated[
        Path | None,
        typer.Option(
            help="The Function app's directory. [default: the project's function/]", show_default=False
        ),
    ] = None,
    function_name: Annotated[str, typer.Option("--function", help="The Event Hub function to host.")] = (
        "process_payment_events"
    ),
    json_output: JsonOption = False,
) -> None:
    """Feed the hub's events to the Function app's Event Hub function, batch by batch, like its host."""
    from paysim_cli.commands.pipeline.live import host_view
    from paysim_cli.pipeline.host import PipelineRequest, run_pipeline

    state = app_context(ctx, json_output)
    request = PipelineRequest(
        function_dir=function_dir,
        function_name=function_name,
        consumer_group=consumer_group,
        workers=workers,
        batch_size=batch_size,
        max_wait_ms=max_wait_ms,
        until_drained=until_drained,
        source=source,
    )
    with host_view(state.output) as on_progress:
        report = run_pipeline(state.settings, request, on_progress=on_progress)
    if report.last_error:
        state.output.warn(f"{report.failed_invocations} invocations failed; the last: {report.last_error}")
    if report.restarts:
        state.output.warn(f"{report.restarts} crashed workers were restarted; the last: {report.last_crash}")
    state.output.result(report, lambda console: render_report(console, report))


def render_report(console: Console, report: PipelineReport) -> None:
    from rich.table import Table

    table = Table(
        title=f"pipeline {report.function} ({report.source}, {report.consumer_group}): {report.status}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    latency = report.latency_ms
    for name, value in (
        ("workers / batch size", f"{report.workers} / {report.batch_size}"),
        ("events / batches", f"{report.events:,} / {report.batches:,}"),
        ("throughput", f"{report.throughput:,.0f} events/s"),
        ("failed invocations (redelivered)", f"{report.failed_invocations:,}"),
        ("lag now / max", f"{report.lag:,} / {report.max_lag:,}"),
        ("end-to-end p50 / p95 / p99", f"{latency.p50:,.1f} / {latency.p95:,.1f} / {latency.p99:,.1f} ms"),
        ("elapsed", f"{report.elapsed_seconds:,.1f} s"),
    ):
        table.add_row(name, value)
    console.print(table)
    for run in report.runs:
        run_latency = run.latency_ms
        console.print(
            f"run {run.run_id}: {run.events:,} events, end-to-end p50/p95/p99 "
            f"{run_latency.p50:,.1f}/{run_latency.p95:,.1f}/{run_latency.p99:,.1f} ms"
        )

"""`paysim pipeline run`: host the registered function over the local log or Event Hubs until drained,
SIGINT or SIGTERM."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.interrupted import finish_interruptible
from paysim_cli.commands.options import (
    BatchSizeOption,
    ConsumerGroupOption,
    DatabaseUrlOption,
    JsonOption,
    LegacySourceOption,
    MaxWaitOption,
    ReportOption,
    TransportOption,
    WorkersOption,
    transport_for,
    validated,
)
from paysim_cli.commands.run_report import write_requested_report
from paysim_cli.context import app_context
from paysim_cli.output import Output, latencies, plural
from paysim_cli.pipeline.request import DEFAULT_FUNCTION_NAME, PipelineRequest

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.output import Output
    from paysim_cli.pipeline.report import PipelineReport

FunctionDirOption = Annotated[
    Path | None,
    typer.Option(
        help="The Function app's directory (it never switches releases).",
        show_default="the active release, else the project's function/",
    ),
]
DevelopmentOption = Annotated[
    bool,
    typer.Option(
        "--development",
        help="Run the working tree's function/ even when a release is deployed (paysim function deploy).",
    ),
]

EXAMPLES = (
    "paysim pipeline run --until-drained",
    "paysim pipeline run --workers 4 --batch-size 1000 --json",
    "paysim pipeline run --transport eventhub --until-drained",
)


def run(
    ctx: typer.Context,
    transport: TransportOption = None,
    workers: WorkersOption = 2,
    batch_size: BatchSizeOption = 500,
    max_wait_ms: MaxWaitOption = 50,
    consumer_group: ConsumerGroupOption = None,
    until_drained: Annotated[
        bool, typer.Option(help="Stop once every partition is caught up (and stays so for a second).")
    ] = False,
    function_dir: FunctionDirOption = None,
    function_name: Annotated[
        str, typer.Option("--function", help="The Event Hub function to host.")
    ] = DEFAULT_FUNCTION_NAME,
    development: DevelopmentOption = False,
    database_url: DatabaseUrlOption = None,
    source: LegacySourceOption = None,
    report_file: ReportOption = None,
    json_output: JsonOption = False,
) -> None:
    """Feed the hub's events to the Function app's Event Hub function, batch by batch, like its host.

    Without --until-drained it runs until SIGINT or SIGTERM: the workers finish the batches in
    flight, the report is printed, and the exit status is 130 or 143.
    """
    from paysim_cli.commands.pipeline.live import host_view
    from paysim_cli.pipeline.host import run_pipeline

    state = app_context(ctx, json_output)
    request = validated(
        ctx,
        PipelineRequest,
        function_dir=function_dir,
        development=development,
        function_name=function_name,
        consumer_group=consumer_group,
        workers=workers,
        batch_size=batch_size,
        max_wait_ms=max_wait_ms,
        until_drained=until_drained,
        source=transport_for(state.settings, state.output, transport, {"--source": source}),
    )
    settings = state.settings.override(database_url=database_url)
    with host_view(state.output) as on_progress:
        report = run_pipeline(settings, request, on_progress=on_progress, on_start=state.output.status)
    _warn_failures(state.output, report)
    runs = [run.run_id for run in report.runs]
    write_requested_report(state.output, settings, report_file, runs, verify=True)
    finish_interruptible(
        state.output, report, lambda console: render_report(console, report), report.interrupted_by
    )


def _warn_failures(output: Output, report: PipelineReport) -> None:
    """Failed invocations and restarted workers, on stderr: the run went on, but not cleanly."""
    if report.last_error:
        output.warn(
            f"{plural(report.failed_invocations, 'invocation')} failed; the last: {report.last_error}"
        )
    if report.restarts:
        output.warn(
            f"{plural(report.restarts, 'crashed worker')} restarted; the last crash: {report.last_crash}"
        )


def render_report(console: Console, report: PipelineReport) -> None:
    from rich.table import Table

    table = Table(
        title=f"pipeline {report.function} ({report.source}, {report.consumer_group}): {report.status}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in (
        ("hosting", report.hosting + (f" (now {', '.join(report.releases)})" if report.releases else "")),
        ("workers / batch size", f"{report.workers} / {report.batch_size}"),
        ("events / batches", f"{report.events:,} / {report.batches:,}"),
        ("throughput", f"{report.throughput:,.0f} events/s"),
        ("failed invocations (redelivered)", f"{report.failed_invocations:,}"),
        ("lag now / max", f"{report.lag:,} / {report.max_lag:,}"),
        ("end-to-end p50 / p95 / p99", latencies(report.latency_ms)),
        ("elapsed", f"{report.elapsed_seconds:,.1f} s"),
    ):
        table.add_row(name, value)
    console.print(table)
    for run in report.runs:
        console.print(
            f"run {run.run_id}: {plural(run.events, 'event')}, end-to-end p50/p95/p99 "
            f"{latencies(run.latency_ms)}"
        )

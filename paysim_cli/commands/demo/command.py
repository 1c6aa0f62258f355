"""`paysim demo`: parse the options, run the demo service, show its stages, print the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.interrupted import finish_interruptible
from paysim_cli.commands.options import (
    DrainTimeoutOption,
    DurationOption,
    JsonOption,
    ProfileOption,
    RateOption,
    ReportOption,
    SeedOption,
    TransportOption,
    WorkersOption,
    validated,
)
from paysim_cli.commands.run_report import write_requested_report
from paysim_cli.context import app_context
from paysim_cli.demo.request import DemoRequest
from paysim_cli.hub.targets import HubTarget
from paysim_cli.output import duration_ms, latencies

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.demo.run import DemoReport

EXAMPLES = (
    "paysim demo",
    "paysim demo --rate 10000 --duration 30 --json",
    "paysim demo --profile chaos --seed 7",
    "paysim demo --transport eventhub --rate 1000 --duration 10",
)


def demo(
    ctx: typer.Context,
    rate: RateOption = 5000,
    duration: DurationOption = 30,
    profile: ProfileOption = "default",
    seed: SeedOption = None,
    workers: WorkersOption = 2,
    transport: TransportOption = None,
    drain_timeout: DrainTimeoutOption = 120,
    report_file: ReportOption = None,
    json_output: JsonOption = False,
) -> None:
    """Start the local stack, run the pipeline under simulated load, reconcile: exit 7 if it does not.

    With --transport eventhub both sides go through the Event Hubs SDK and the local AMQP endpoint,
    checkpoints in Azurite. SIGINT or SIGTERM stops sending, lets the pipeline catch up for a few
    seconds, prints the report and exits 130 or 143.
    """
    from paysim_cli.commands.demo.live import DemoView
    from paysim_cli.demo.run import run_demo

    state = app_context(ctx, json_output)
    request = validated(
        ctx,
        DemoRequest,
        rate=rate,
        duration=duration,
        profile=profile,
        seed=seed,
        workers=workers,
        transport=transport or HubTarget.LOCAL,  # the demo runs on the local stack, whatever --env says
        drain_timeout=drain_timeout,
    )
    with DemoView(state.output) as view:
        report = run_demo(
            state.settings,
            request,
            on_stage=view.stage,
            on_simulate=None if state.output.json_mode else view.simulate,
            on_pipeline=None if state.output.json_mode else view.pipeline,
        )
    write_requested_report(
        state.output,
        state.settings,
        report_file,
        [report.run_id],
        verify=False,
        reconciliation=report.reconciliation,
    )
    finish_interruptible(
        state.output,
        report,
        lambda console: render_demo(console, report),
        report.interrupted_by,
        hint=f"once the pipeline has drained, `paysim verify {report.run_id}` reconciles what was sent",
        failure=report.reconciliation.failure(report),
    )


def render_demo(console: Console, report: DemoReport) -> None:
    from rich.table import Table

    from paysim_cli.commands.metrics.render import render_metrics
    from paysim_cli.commands.verify.render import render_reconciliation

    verdict = f", interrupted by {report.interrupted_by}" if report.interrupted_by else ""
    table = Table(
        title=f"paysim demo: run {report.run_id} ({report.profile}, seed {report.seed}, "
        f"{report.transport}{verdict})"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in (
        ("rate: target / achieved", f"{report.target_rate:,.0f} / {report.achieved_rate:,.0f} events/s"),
        ("sent", f"{report.sent:,}"),
        ("processed", f"{report.processed:,}"),
        ("failed (malformed)", f"{report.failed:,}"),
        ("duplicates dropped", f"{report.duplicates_dropped:,}"),
        ("pipeline throughput", f"{report.throughput:,.0f} events/s"),
        (
            "max lag / drained after",
            f"{report.max_lag:,} / {duration_ms(report.drain_seconds * 1000)} ({report.pipeline})",
        ),
        ("end-to-end p50 / p95 / p99", latencies(report.latency_ms)),
    ):
        table.add_row(name, value)
    console.print(table)
    render_reconciliation(console, report.reconciliation)
    render_metrics(console, report.top_metrics)

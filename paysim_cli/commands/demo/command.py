"""`paysim demo`: parse the options, run the demo service, show its stages, print the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.commands.pipeline.run import WorkersOption
from paysim_cli.commands.verify.render import print_verdict
from paysim_cli.context import app_context
from paysim_cli.hub.targets import HubTarget

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.demo.run import DemoReport


def demo(
    ctx: typer.Context,
    rate: Annotated[float, typer.Option(help="Events/s the simulation sends.", min=0.001)] = 5000,
    duration: Annotated[float, typer.Option(help="Seconds the simulation runs.", min=0.001)] = 30,
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Load profile: mix and faults (`paysim profiles list`).")
    ] = "default",
    seed: Annotated[
        int | None, typer.Option(help="Seed of the event stream. [default: random]", min=0)
    ] = None,
    workers: WorkersOption = 2,
    transport: Annotated[
        HubTarget,
        typer.Option(
            help="local: the simulator writes to and the pipeline reads from the local log; eventhub: both "
            "go through the Event Hubs SDK and the local AMQP endpoint, checkpoints in Azurite."
        ),
    ] = HubTarget.LOCAL,
    drain_timeout: Annotated[
        float, typer.Option(help="Longest wait for the pipeline to catch up after the simulation.", min=1)
    ] = 120,
    json_output: JsonOption = False,
) -> None:
    """Start the local stack, run the pipeline under simulated load, reconcile: exit 7 if it does not."""
    from paysim_cli.commands.demo.live import DemoView
    from paysim_cli.demo.run import DemoRequest, run_demo

    state = app_context(ctx, json_output)
    request = DemoRequest(
        rate=rate,
        duration=duration,
        profile=profile,
        seed=seed,
        workers=workers,
        transport=transport,
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
    print_verdict(
        state.output,
        report,
        lambda console: render_demo(console, report),
        report.reconciliation.failure(report),
    )


def render_demo(console: Console, report: DemoReport) -> None:
    from rich.table import Table

    from paysim_cli.commands.metrics.show import render_metrics
    from paysim_cli.commands.verify.render import render_reconciliation

    table = Table(
        title=f"paysim demo: run {report.run_id} ({report.profile}, seed {report.seed}, {report.transport})"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    latency = report.latency_ms
    for name, value in (
        ("rate: target / achieved", f"{report.target_rate:,.0f} / {report.achieved_rate:,.0f} events/s"),
        ("sent", f"{report.sent:,}"),
        ("processed", f"{report.processed:,}"),
        ("failed (malformed)", f"{report.failed:,}"),
        ("duplicates dropped", f"{report.duplicates_dropped:,}"),
        ("pipeline throughput", f"{report.throughput:,.0f} events/s"),
        (
            "max lag / drained after",
            f"{report.max_lag:,} / {report.drain_seconds:,.1f} s ({report.pipeline})",
        ),
        ("end-to-end p50 / p95 / p99", f"{latency.p50:,.1f} / {latency.p95:,.1f} / {latency.p99:,.1f} ms"),
    ):
        table.add_row(name, value)
    console.print(table)
    render_reconciliation(console, report.reconciliation)
    render_metrics(console, report.top_metrics)

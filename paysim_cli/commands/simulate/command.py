"""`paysim simulate`: parse the options, run the simulation service, render the live view and the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.interrupted import finish_interruptible
from paysim_cli.commands.options import (
    DurationOption,
    JsonOption,
    LegacyTargetOption,
    ProfileOption,
    RateOption,
    ReportOption,
    SeedOption,
    TransportOption,
    WorkersOption,
    chosen_transport,
    validated,
)
from paysim_cli.commands.run_report import write_requested_report
from paysim_cli.context import AppContext, app_context
from paysim_cli.output import latencies, plural
from paysim_cli.simulator.request import PartitionKeyField, SimulationRequest

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.simulator.capacity import CapacityCheck
    from paysim_cli.simulator.simulation import SimulationReport

EXAMPLES = (
    "paysim simulate --rate 10000 --duration 20",
    "paysim simulate --profile black_friday --workers 2 --json",
    "paysim simulate --profile chaos --count 100000 --seed 7 --run-id chaos-7",
    "paysim simulate --count 1000 --output events.ndjson",
)


def simulate(
    ctx: typer.Context,
    profile: ProfileOption = "default",
    rate: RateOption = None,
    duration: DurationOption = None,
    count: Annotated[
        int | None, typer.Option(help="Events to send, instead of a duration.", show_default=False)
    ] = None,
    seed: SeedOption = None,
    start_time: Annotated[
        str | None,
        typer.Option(
            help="Event time of the first event, RFC 3339 (e.g. 2025-11-28T00:00:00Z).", show_default="now"
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            help="Name of the run (letters, digits, . _ -), to rerun the same --seed and --start-time.",
            show_default="START-TIME-sSEED",
        ),
    ] = None,
    workers: WorkersOption = None,
    transport: TransportOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write events to this NDJSON file instead of publishing."),
    ] = None,
    partition_key_field: Annotated[
        PartitionKeyField, typer.Option(help="Event field used as the partition key; none: round-robin.")
    ] = "customer.id",
    watch: Annotated[
        bool, typer.Option(help="Reload the profile file when it changes: rate and mix change mid-run.")
    ] = False,
    throughput_units: Annotated[
        int, typer.Option(help="The event hub's throughput units, for the capacity check.")
    ] = 1,
    target: LegacyTargetOption = None,
    report_file: ReportOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send realistic payment events at a precise rate; write the run's manifest for reconciliation.

    --rate and --duration replace the profile's own; SIGINT or SIGTERM stops the run cleanly: the
    report and manifest cover what was sent, and the exit status is 130 or 143. Without --workers, one
    worker process, or over --transport eventhub as many as the rate needs.
    """
    state = app_context(ctx, json_output)
    request = validated(
        ctx,
        SimulationRequest,
        profile=profile,
        rate=rate,
        duration=duration,
        count=count,
        seed=seed,
        start_time=start_time,
        run_id=run_id,
        workers=workers,
        transport=chosen_transport(state.output, transport, {"--target": target}),
        output=output,
        partition_key_field=partition_key_field,
        watch=watch,
        throughput_units=throughput_units,
    )
    report = _run(state, request)
    # Written before the pipeline has seen the run: its verdict is the last recorded one, if any.
    write_requested_report(state.output, state.settings, report_file, [report.run_id], verify=False)
    finish_interruptible(
        state.output, report, lambda console: render_report(console, report), report.interrupted_by
    )


def _run(state: AppContext, request: SimulationRequest) -> SimulationReport:
    """The run with its live view; capacity warnings, notes and undelivered events said on stderr."""
    from paysim_cli.commands.simulate.live import live_view
    from paysim_cli.simulator.simulation import run_simulation

    def warn_capacity(check: CapacityCheck) -> None:
        for warning in check.warnings:
            state.output.warn(f"capacity: {warning}")

    with live_view(state.output) as on_progress:
        report = run_simulation(
            state.settings,
            request,
            on_progress=on_progress,
            on_capacity=warn_capacity,
            on_warning=state.output.warn,
            on_note=state.output.status,
        )
    if report.failed:
        state.output.warn(f"{plural(report.failed, 'event')} not delivered: they are in {report.undelivered}")
    return report


def render_report(console: Console, report: SimulationReport) -> None:
    from rich.table import Table

    table = Table(title=f"run {report.run_id} ({report.profile}, seed {report.seed}): {report.status}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("target", f"{report.target} ({plural(report.workers, 'worker')})"),
        ("sent / planned", f"{report.sent:,} / {report.planned:,}"),
        ("failed", f"{report.failed:,}"),
        ("retried", f"{report.retried:,}"),
        ("rate: target / achieved", f"{report.target_rate:,.1f} / {report.achieved_rate:,.1f} events/s"),
        ("latency p50 / p95 / p99", latencies(report.latency_ms)),
        ("set-up before the clock", f"{report.setup_seconds:,.2f} s"),
        (
            "malformed / duplicates / out of order",
            "{:,} / {:,} / {:,}".format(*report.injected.model_dump().values()),
        ),
        ("manifest", str(report.manifest)),
    ]
    if report.output is not None:
        rows.append(("events written to", str(report.output)))
    if report.undelivered is not None:
        rows.append(("undelivered", str(report.undelivered)))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)

"""`paysim simulate`: parse the options, run the simulation service, render the live view and the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.simulator.generator import PartitionKeyField

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.simulator.capacity import CapacityCheck
    from paysim_cli.simulator.simulation import SimulationReport


def simulate(
    ctx: typer.Context,
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Profile name (`paysim profiles list`) or .yaml path.")
    ] = "default",
    rate: Annotated[
        float | None,
        typer.Option(
            help="Flat rate in events/s, replacing the profile's rate, stages and diurnal curve.", min=0.001
        ),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Seconds to run. [default: the profile's duration]", min=0.001)
    ] = None,
    count: Annotated[int | None, typer.Option(help="Events to send, instead of a duration.", min=1)] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed: same seed, profile and --start-time give the same bytes.", min=0)
    ] = None,
    start_time: Annotated[
        str | None,
        typer.Option(
            help="Event time of the first event, RFC 3339 (e.g. 2025-11-28T00:00:00Z). [default: now]"
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes.", min=1, max=64)] = 1,
    target: Annotated[HubTarget, typer.Option(help="Where to publish.")] = HubTarget.LOCAL,
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
        int, typer.Option(help="The event hub's throughput units, for the capacity check.", min=1)
    ] = 1,
    json_output: JsonOption = False,
) -> None:
    """Send realistic payment events at a precise rate; write the run's manifest for reconciliation."""
    from pydantic import ValidationError

    from paysim_cli.commands.simulate.live import live_view
    from paysim_cli.simulator.simulation import SimulationRequest, run_simulation

    state = app_context(ctx, json_output)
    output_sink = state.output
    try:
        request = SimulationRequest.model_validate(
            {
                "profile": profile,
                "rate": rate,
                "duration": duration,
                "count": count,
                "seed": seed,
                "start_time": start_time,
                "workers": workers,
                "target": target,
                "output": output,
                "partition_key_field": partition_key_field,
                "watch": watch,
                "throughput_units": throughput_units,
            }
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise PaysimError(
            "invalid_option",
            f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}",
            "see `paysim simulate --help`",
            exit_code=ExitCode.USAGE,
        ) from error

    def warn_capacity(check: CapacityCheck) -> None:
        for warning in check.warnings:
            output_sink.warn(f"capacity: {warning}")

    with live_view(output_sink) as on_progress:
        report = run_simulation(state.settings, request, on_progress=on_progress, on_capacity=warn_capacity)
    for warning in report.warnings:
        output_sink.warn(warning)
    if report.failed:
        output_sink.warn(f"{report.failed:,} events were not delivered; they are in {report.undelivered}")
    output_sink.result(report, lambda console: render_report(console, report))


def render_report(console: Console, report: SimulationReport) -> None:
    from rich.table import Table

    table = Table(title=f"run {report.run_id} ({report.profile}, seed {report.seed}): {report.status}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    latency = report.latency_ms
    rows = [
        ("target", f"{report.target} ({report.workers} worker{'s' if report.workers > 1 else ''})"),
        ("sent / planned", f"{report.sent:,} / {report.planned:,}"),
        ("failed", f"{report.failed:,}"),
        ("retried", f"{report.retried:,}"),
        ("rate: target / achieved", f"{report.target_rate:,.1f} / {report.achieved_rate:,.1f} events/s"),
        ("latency p50 / p95 / p99", f"{latency.p50:,.1f} / {latency.p95:,.1f} / {latency.p99:,.1f} ms"),
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

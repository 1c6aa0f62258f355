"""`paysim demo`: parse the options, run the demo service, show its stages, print the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
    option_help,
    validated,
)
from paysim_cli.commands.run_report import write_requested_report
from paysim_cli.context import app_context
from paysim_cli.demo.request import DemoRequest
from paysim_cli.hub.targets import HubTarget

if TYPE_CHECKING:
    from pathlib import Path

    from paysim_cli.context import AppContext
    from paysim_cli.demo.report import DemoReport

EXAMPLES = (
    "paysim demo",
    "paysim demo --rate 10000 --duration 30 --json",
    "paysim demo --profile chaos --seed 7",
    "paysim demo --transport eventhub --rate 1000 --duration 10",
    "paysim demo --duration 60 --faults worker-kill:6,host-kill:1,postgres-restart:1,azurite-outage:1,poison",
    "paysim demo --faults worker-kill@10,host-kill@20 --duration 30 --json",
    "paysim demo --transport eventhub --faults amqp-restart:2,worker-kill:2 --duration 40",
    "paysim demo --rate 5000 --duration 300 --faults @soak-faults.txt",
)

BacklogTimeoutOption = Annotated[
    float,
    typer.Option(
        help=option_help(
            "Longest wait in seconds for events older runs left in the hub to be committed before the run "
            "starts (they are reported apart)",
            DemoRequest,
            "backlog_timeout",
        )
    ),
]
FaultsOption = Annotated[
    str | None,
    typer.Option(
        "--faults",
        metavar="SPEC",
        help="Strike real faults during the run, then judge the recovery: KIND[:COUNT] spreads COUNT "
        "over the run, KIND@SECONDS strikes once at that second, comma-separated or @FILE. Kinds: "
        "worker-kill, host-kill, postgres-restart, azurite-outage, amqp-restart (--transport eventhub), "
        "poison. "
        "Exit 7 if a fault is not recovered, the pipeline stalls over 30 s, or the totals or archive differ.",
        show_default=False,
    ),
]


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
    backlog_timeout: BacklogTimeoutOption = 900,
    faults: FaultsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Start the local stack, run the pipeline under simulated load, reconcile: exit 7 if it does not.

    Events older runs left in the hub are drained first and reported apart: lag, drain and latency are
    this run's. With --transport eventhub both sides go through the Event Hubs SDK and the local AMQP
    endpoint, checkpoints in Azurite. With --faults the host runs as a process the faults can kill, and
    the report lists each fault, when it struck, its recovery time and the verdict. SIGINT or SIGTERM
    stops sending, lets the pipeline catch up for a few seconds, prints the report and exits 130 or 143.
    """
    from paysim_cli.commands.demo.render import render_demo
    from paysim_cli.faults.spec import parse_fault_spec

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
        backlog_timeout=backlog_timeout,
        faults=parse_fault_spec(faults) if faults is not None else None,
    )
    report = _run(state, request, report_file)
    finish_interruptible(
        state.output,
        report,
        lambda console: render_demo(console, report),
        report.interrupted_by,
        hint=f"once the pipeline has drained, `paysim verify {report.run_id}` reconciles what was sent",
        failure=report.failure(),
    )


def _run(state: AppContext, request: DemoRequest, report_file: Path | None) -> DemoReport:
    """The demo with its stages shown as it goes (the live views only for people), then its HTML report
    when one is asked for (with the demo's own reconciliation: its stack's database is gone after)."""
    from paysim_cli.commands.demo.live import DemoView
    from paysim_cli.demo.run import run_demo

    with DemoView(state.output) as view:
        live = not state.output.json_mode
        report = run_demo(
            state.settings,
            request,
            on_stage=view.stage,
            on_simulate=view.simulate if live else None,
            on_pipeline=view.pipeline if live else None,
        )
    write_requested_report(
        state.output,
        state.settings,
        report_file,
        [report.run_id],
        verify=False,
        reconciliation=report.reconciliation,
    )
    return report

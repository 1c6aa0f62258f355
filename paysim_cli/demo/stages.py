"""The stages both demos share: the stack up and migrated before, the run reconciled and reported after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from paysim_cli.demo.report import Backlog, DemoReport, FaultsReport
from paysim_cli.demo.request import DemoRequest
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.interrupts import Interrupted, Interruption
from paysim_cli.latency import LatencySummary
from paysim_cli.pipeline.report import HostStatus
from paysim_cli.reconcile.verify import ReconciliationReport
from paysim_cli.settings import Settings
from paysim_cli.simulator.request import SimulationRequest
from paysim_cli.simulator.simulation import SimulationReport

TOP_WINDOWS = 5
TOP_DYNAMIC = 1
NO_LATENCY = LatencySummary(p50=0.0, p95=0.0, p99=0.0, max=0.0)


@dataclass
class PipelineFigures:
    """What the pipeline side measured of the run."""

    status: HostStatus
    throughput: float
    drain_seconds: float
    max_lag: int
    latency_ms: LatencySummary
    latency_events: int
    backlog: Backlog


def require_local(settings: Settings) -> None:
    if not settings.is_local:
        raise PaysimError(
            "demo_needs_local",
            f"paysim demo runs on the embedded local stack, not on environment {settings.env}",
            "drop --env (or use --env local)",
            exit_code=ExitCode.CONFIG,
        )


def prepare(settings: Settings, on_stage: Callable[[str], None], interruption: Interruption) -> Settings:
    """The local stack up and its database migrated; the settings with what the stack provides."""
    from paysim_cli import migrations
    from paysim_cli.local import stack

    on_stage("starting the local stack")
    stack.up(settings)
    settings = with_stack(settings)
    stop_if_interrupted(interruption)
    on_stage("migrating the database")
    migrations.upgrade(settings)
    stop_if_interrupted(interruption)
    return settings


def stop_if_interrupted(interruption: Interruption) -> None:
    """Before the run starts there is nothing to report: a signal just ends the demo."""
    if interruption.signum is not None:
        raise Interrupted(interruption.signum)


def simulation_request(request: DemoRequest) -> SimulationRequest:
    return SimulationRequest(
        profile=request.profile,
        rate=request.rate,
        duration=request.duration,
        seed=request.seed,
        transport=request.transport,
    )


def demo_report(
    settings: Settings,
    request: DemoRequest,
    simulation: SimulationReport,
    reconciliation: ReconciliationReport,
    figures: PipelineFigures,
    *,
    faults: FaultsReport | None = None,
    interrupted_by: str | None = None,
) -> DemoReport:
    from paysim_cli.metrics.show import latest_metrics

    return DemoReport(
        run_id=simulation.run_id,
        transport=request.transport,
        profile=simulation.profile,
        seed=simulation.seed,
        target_rate=simulation.target_rate,
        achieved_rate=simulation.achieved_rate,
        sent=simulation.sent,
        processed=reconciliation.processed,
        failed=reconciliation.failed,
        duplicates_dropped=reconciliation.duplicates_dropped,
        throughput=figures.throughput,
        pipeline=figures.status,
        drain_seconds=round(figures.drain_seconds, 3),
        max_lag=figures.max_lag,
        latency_ms=figures.latency_ms,
        latency_events=figures.latency_events,
        backlog=figures.backlog,
        reconciliation=reconciliation,
        top_metrics=latest_metrics(settings, limit=TOP_WINDOWS, top=TOP_DYNAMIC),
        faults=faults,
        interrupted_by=interrupted_by,
    )


def with_stack(settings: Settings) -> Settings:
    """The settings with what the stack just started provides, where nothing else set them."""
    from paysim_cli.local.state import local_stack_settings

    provided = {
        name: value
        for name, value in local_stack_settings(settings.state_dir).items()
        if settings.sources.get(name, "default") in ("default", "local stack")
    }
    return settings.override("local stack", **provided)

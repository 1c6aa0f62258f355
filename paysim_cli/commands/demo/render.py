"""The demo's report for people: the run's figures, the backlog apart, the faults, the reconciliation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paysim_cli.output import duration_ms, latencies

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.demo.report import DemoReport, FaultsReport


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
    for name, value in _measures(report):
        table.add_row(name, value)
    console.print(table)
    if report.faults is not None:
        render_faults(console, report.faults)
    render_reconciliation(console, report.reconciliation)
    render_metrics(console, report.top_metrics)


def _measures(report: DemoReport) -> list[tuple[str, str]]:
    backlog = report.backlog
    older = "none"
    if backlog.events:
        took = duration_ms(backlog.seconds * 1000)
        older = f"{backlog.events:,} events, {backlog.status} in {took} before the run"
        if backlog.remaining:
            older += f" ({backlog.remaining:,} left)"
    return [
        ("rate: target / achieved", f"{report.target_rate:,.0f} / {report.achieved_rate:,.0f} events/s"),
        ("sent", f"{report.sent:,}"),
        ("processed", f"{report.processed:,}"),
        ("failed (malformed)", f"{report.failed:,}"),
        ("duplicates dropped", f"{report.duplicates_dropped:,}"),
        ("pipeline throughput", f"{report.throughput:,.0f} events/s"),
        (
            "run's max lag / drained after",
            f"{report.max_lag:,} / {duration_ms(report.drain_seconds * 1000)} ({report.pipeline})",
        ),
        ("end-to-end p50 / p95 / p99", f"{latencies(report.latency_ms)} ({report.latency_events:,} events)"),
        ("older backlog (not this run)", older),
    ]


def render_faults(console: Console, faults: FaultsReport) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"faults: {faults.spec}")
    for column in ("#", "fault", "at s", "down s", "recovered after s", "what"):
        table.add_column(column, justify="right" if column.endswith("s") or column == "#" else "left")
    for item in faults.faults:
        recovery = "never" if item.recovery_seconds is None else f"{item.recovery_seconds:.2f}"
        what = item.detail + (f"; {item.problem}" if item.problem else "")
        table.add_row(
            str(item.number),
            item.kind.value,
            f"{item.at:.1f}",
            f"{item.down_seconds:.2f}",
            recovery,
            Text(what),
        )
    console.print(table)
    lines = [
        f"{len(faults.faults)} of {faults.scheduled} faults struck; "
        f"{faults.hosts_started} pipeline hosts started; "
        f"longest stall {faults.longest_stall_seconds:.1f} s (limit {faults.stall_limit_seconds:.0f} s)"
    ]
    if faults.archive_repair is not None:
        repair = faults.archive_repair
        lines.append(
            f"Azurite lost {repair.missing_events:,} archived events when killed: {repair.events_archived:,} "
            f"re-archived from the hub ({'complete' if repair.complete else 'STILL INCOMPLETE'})"
        )
    verdict = "faults survived" if faults.passed else "faults NOT survived: " + "; ".join(faults.problems)
    lines.append(verdict)
    for line in lines:
        console.print(Text(line))

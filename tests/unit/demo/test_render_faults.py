"""The faults table for people: each fault with when, how long down, recovery; the repair and verdict."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from paysim_cli.commands.demo.render import render_faults
from paysim_cli.demo.report import ArchiveRepair, FaultsReport
from paysim_cli.faults.campaign import FaultResult
from paysim_cli.faults.spec import FaultKind


def _rendered(report: FaultsReport) -> str:
    console = Console(record=True, width=200)
    render_faults(console, report)
    return console.export_text()


def test_the_table_lists_each_fault_and_the_verdict_names_every_problem() -> None:
    faults = [
        FaultResult(
            number=1, kind=FaultKind.AZURITE_OUTAGE, scheduled_at=5.0, at=5.2, detail="kill -9 Azurite [x]",
            down_seconds=3.4, recovery_seconds=4.75, killed_pids=[11],
        ),
        FaultResult(
            number=2, kind=FaultKind.HOST_KILL, scheduled_at=9.0, at=12.0, detail="kill -9 host",
            down_seconds=0.0, recovery_seconds=None, problem="not recovered within 90 s",
        ),
    ]  # fmt: skip
    report = FaultsReport(
        spec="azurite-outage,host-kill@9",
        scheduled=3,
        faults=faults,
        hosts_started=2,
        longest_stall_seconds=31.5,
        longest_stall_at=12.0,
        archive_repair=ArchiveRepair(missing_events=1500, events_archived=1500, complete=True),
        host_logs=Path("/tmp/logs"),
        problems=["fault 2 (host-kill): not recovered within 90 s", "the pipeline stalled 31.5 s"],
        passed=False,
    )
    text = _rendered(report)
    assert "faults: azurite-outage,host-kill@9" in text
    for shown in ("azurite-outage", "4.75", "3.40", "never", "not recovered within 90 s"):
        assert shown in text
    assert "kill -9 Azurite [x]" in text  # shown as written, no markup
    assert "2 of 3 faults struck; 2 pipeline hosts started; longest stall 31.5 s (limit 30 s)" in text
    assert "Azurite lost 1,500 archived events when killed: 1,500 re-archived from the hub (complete)" in text
    assert (
        "faults NOT survived: fault 2 (host-kill): not recovered within 90 s; the pipeline stalled 31.5 s"
        in text
    )

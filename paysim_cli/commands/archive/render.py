"""Rendering an archive check or repair for people."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.reconcile.archive import ArchiveReport, RepairReport

SHOWN_GAPS = 20  # per partition; --json lists them all


def render_archive(console: Console, report: ArchiveReport) -> None:
    from rich.table import Table

    verdict = "complete" if report.complete else f"{report.missing_events:,} committed events missing"
    table = Table(
        title=f"raw-events archive {report.container}/{report.eventhub}/{report.consumer_group}: {verdict}"
    )
    for column in ("partition", "checkpoint", "checked", "hub holds from", "blobs", "missing"):
        table.add_column(column, justify="left" if column == "checked" else "right")
    for partition in report.partitions:
        table.add_row(
            partition.partition_id,
            "none" if partition.checkpoint is None else str(partition.checkpoint),
            "-" if partition.checked is None else f"{partition.checked.first}..{partition.checked.last}",
            "empty" if partition.hub_first is None else str(partition.hub_first),
            f"{partition.blobs:,}",
            f"{partition.missing_events:,}",
        )
    console.print(table)
    for partition in report.partitions:
        for gap in partition.gaps[:SHOWN_GAPS]:
            console.print(
                f"  partition {partition.partition_id}: gap {gap.first}..{gap.last} ({gap.events:,})"
            )
        if len(partition.gaps) > SHOWN_GAPS:
            console.print(
                f"  partition {partition.partition_id}: ... and {len(partition.gaps) - SHOWN_GAPS} more"
            )
        for name in partition.unreadable_blobs:
            console.print(f"  partition {partition.partition_id}: unreadable blob {name}", markup=False)
    if report.unrepairable_events:
        console.print(f"{report.unrepairable_events:,} of the missing events are no longer in the hub")


def render_repair(console: Console, report: RepairReport) -> None:
    console.print(
        f"re-archived {report.events_archived:,} events in {len(report.repaired):,} blobs"
        + (
            f"; deleted {len(report.deleted_unreadable_blobs)} unreadable blobs"
            if report.deleted_unreadable_blobs
            else ""
        )
    )
    render_archive(console, report.after)

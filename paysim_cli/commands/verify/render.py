"""How a reconciliation looks to a person (in `paysim verify` and in the demo's report)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.reconcile.verify import ReconciliationReport

# Differences a person sees; --json lists them all.
SHOWN_DIFFERENCES = 20


def reconciliation_renderer(report: ReconciliationReport) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        render_reconciliation(console, report)

    return render


def render_reconciliation(console: Console, report: ReconciliationReport) -> None:
    from rich.table import Table

    verdict = "reconciles exactly" if report.passed else f"{len(report.differences)} differences"
    table = Table(title=f"run {report.run_id}: {verdict}")
    for column in ("check", "rule", "expected", "actual", "ok"):
        table.add_column(column, justify="right" if column in ("expected", "actual") else "left")
    for check in report.checks:
        table.add_row(
            check.name,
            check.rule,
            f"{check.expected:,}",
            f"{check.actual:,}",
            "yes" if check.passed else "NO",
        )
    console.print(table)
    for difference in report.differences[:SHOWN_DIFFERENCES]:
        console.print(
            f"  {difference.subject}: expected {difference.expected:,}, found {difference.actual:,}"
        )
    if len(report.differences) > SHOWN_DIFFERENCES:
        console.print(f"  ... and {len(report.differences) - SHOWN_DIFFERENCES} more (--json lists them all)")

"""How migration reports look to a person."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.migrations.models import NewMigrationReport, PlanReport, StatusReport, VerifyReport

Renderer = Callable[["Console"], None]


def status_renderer(report: StatusReport) -> Renderer:
    def render(console: Console) -> None:
        from rich.table import Table

        drift = {item.version: item for item in report.drift}
        table = Table(title=f"{report.database} at version {report.current_version:04d} ({report.sql_dir})")
        for column in ("version", "name", "state", "applied at", "ms"):
            table.add_column(column)
        for row in report.applied:
            state: str = drift[row.version].kind if row.version in drift else "applied"
            table.add_row(
                f"{row.version:04d}",
                row.name,
                state,
                f"{row.applied_at:%Y-%m-%d %H:%M:%S}",
                str(row.duration_ms),
            )
        for pending in report.pending:
            state = drift[pending.version].kind if pending.version in drift else "pending"
            mode = "" if pending.transactional else ", no transaction"
            table.add_row(f"{pending.version:04d}", pending.name, state + mode, "", "")
        console.print(table)
        for item in report.drift:
            console.print(f"drift: {item.version:04d}_{item.name}: {item.kind}: {item.detail}", markup=False)
        if not report.drift:
            console.print(f"no drift; {len(report.pending)} pending")

    return render


def plan_renderer(report: PlanReport) -> Renderer:
    def render(console: Console) -> None:
        if report.sql is not None:
            console.out(report.sql, highlight=False, end="")
            return
        verb = "applied" if report.direction == "up" else "reverted"
        if not report.steps:
            console.print(f"nothing to do: the database is at version {report.from_version:04d}")
            return
        from rich.table import Table

        table = Table(title=f"{verb} on {report.database}")
        for column in ("version", "name", "transaction", "ms"):
            table.add_column(column)
        for step in report.steps:
            table.add_row(
                f"{step.version:04d}",
                step.name,
                "yes" if step.transactional else "no (paysim:no-transaction)",
                str(step.duration_ms),
            )
        console.print(table)
        console.print(f"database at version {report.to_version:04d} (was {report.from_version:04d})")

    return render


def verify_renderer(report: VerifyReport) -> Renderer:
    def render(console: Console) -> None:
        from rich.table import Table

        table = Table(title=f"{report.database} at version {report.current_version:04d}")
        for column in ("check", "name", "result"):
            table.add_column(column)
        for check in report.checks:
            table.add_row(check.kind, check.name, check.detail)
        console.print(table)
        passed, pending = len(report.checks), len(report.pending)
        console.print(f"verified: no drift, {passed} checks passed; {pending} migrations pending")

    return render


def new_renderer(report: NewMigrationReport) -> Renderer:
    def render(console: Console) -> None:
        console.print(f"created {report.up_file} and {report.down_file}", markup=False)

    return render

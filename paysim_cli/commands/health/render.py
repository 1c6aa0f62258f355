"""A health report for people (a table), for GitHub Actions (annotations, a Markdown summary) and live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from paysim_cli.health.models import CheckStatus, HealthReport
from paysim_cli.output import Output, markdown_cell

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_STYLES = {
    CheckStatus.OK: "green",
    CheckStatus.WARN: "yellow",
    CheckStatus.UNKNOWN: "magenta",
    CheckStatus.FAIL: "bold red",
}


def report_table(report: HealthReport) -> Table:
    from rich.table import Table
    from rich.text import Text

    verdict = "healthy" if report.healthy else "NOT healthy"
    table = Table(
        title=f"paysim health ({report.env}): {verdict}, {report.duration_ms:,.0f} ms",
        title_justify="left",
    )
    for column in ("check", "status", "value", "threshold", "message / hint"):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        # Text, not markup: messages carry names and errors from outside (STYLE 17).
        detail = Text(check.message)
        if check.hint and check.status is not CheckStatus.OK:
            detail.append(f"\nhint: {check.hint}", style="dim")
        table.add_row(
            Text(check.name.value),
            Text(check.status.value.upper(), style=_STYLES[check.status]),
            Text(check.value or ""),
            Text(check.threshold or ""),
            detail,
        )
    return table


def print_report(console: Console, report: HealthReport) -> None:
    console.print(report_table(report))


def markdown_summary(report: HealthReport) -> str:
    """The report as a GitHub-flavoured Markdown table, for $GITHUB_STEP_SUMMARY."""
    verdict = "healthy" if report.healthy else "**not healthy**"
    lines = [
        f"### paysim health ({markdown_cell(report.env)}): {verdict}",
        "",
        "| check | status | value | threshold | message | hint |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for check in report.checks:
        cells = (
            check.name.value,
            check.status.value.upper(),
            check.value or "",
            check.threshold or "",
            check.message,
            check.hint or "",
        )
        lines.append("| " + " | ".join(markdown_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


def publish_to_ci(output: Output, report: HealthReport) -> None:
    """Under GitHub Actions: an annotation per check that is not ok, and the summary table."""
    for check in report.checks:
        if check.status is CheckStatus.OK:
            continue
        level: Literal["warning", "error"] = "warning" if check.status is CheckStatus.WARN else "error"
        hint = f" (hint: {check.hint})" if check.hint else ""
        title = f"paysim health: {check.name.value} {check.status.value}"
        output.annotate(level, title, check.message + hint)
    output.step_summary(markdown_summary(report))


def status_line(report: HealthReport) -> str:
    """One line per report, for --wait-healthy and --watch off a terminal."""
    states = "  ".join(f"{check.name.value} {check.status.value}" for check in report.checks)
    verdict = "healthy" if report.healthy else "unhealthy"
    return f"{report.checked_at:%H:%M:%S} {verdict}: {states}"

"""What the `paysim infra` verbs show people: progress while terraform runs, and plan tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from paysim_cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.infra.plan import PlanSummary


@contextmanager
def terraform_progress(output: Output, description: str) -> Iterator[None]:
    """A spinner with elapsed time at a terminal, one status line otherwise, nothing in --json mode."""
    with output.progress(description) as progress:
        if progress is not None:
            progress.add_task(description, total=None)
        yield


def render_plan_summary(console: Console, title: str, summary: PlanSummary) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column, justify in (
        ("resource type", "left"),
        ("add", "right"),
        ("change", "right"),
        ("destroy", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in summary.by_type:
        table.add_row(row.type, str(row.add), str(row.change), str(row.destroy))
    console.print(table)
    console.print(f"Plan: {summary.headline()}." if summary.has_changes else "No changes.")

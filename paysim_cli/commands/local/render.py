"""How a stack report looks to a person."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.local.stack import StackReport


def stack_renderer(report: StackReport, title: str) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        from rich.table import Table

        table = Table(title=f"{title} ({report.state_dir})")
        for column in ("component", "healthy", "pid", "address", "detail"):
            table.add_column(column)
        for component in report.components:
            table.add_row(
                component.name,
                "yes" if component.healthy else "NO",
                "" if component.pid is None else str(component.pid),
                component.address or "",
                component.detail,
            )
        console.print(table)

    return render

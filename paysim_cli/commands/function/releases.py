"""`paysim function releases`: every stored release, its latest deploy, and which one is active."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.function.options import EnvOption, function_context
from paysim_cli.commands.options import JsonOption

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = ("paysim function releases", "paysim function releases --env dev --json")


def releases(ctx: typer.Context, env: EnvOption = None, json_output: JsonOption = False) -> None:
    """Version, commit, deployed at, by whom, outcome, and the active marker."""
    from paysim_cli.deploy.overview import list_releases

    state, settings = function_context(ctx, json_output, env)
    report = list_releases(settings)

    def render(console: Console) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=f"releases of {report.env} ({report.store})")
        for column in ("", "version", "commit", "built at", "deployed at", "by", "outcome"):
            table.add_column(column)
        for row in report.releases:
            table.add_row(
                "*" if row.active else "",
                Text(row.version),
                Text((row.commit or "")[:12]),
                row.built_at.strftime("%Y-%m-%d %H:%M:%S"),
                "" if row.deployed_at is None else row.deployed_at.strftime("%Y-%m-%d %H:%M:%S"),
                Text(row.deployed_by or ""),
                "" if row.outcome is None else row.outcome.value,
            )
        console.print(table)
        console.print(f"active: {report.active or 'none'} (* in the table)", markup=False)

    state.output.result(report, render)

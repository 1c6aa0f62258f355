"""`paysim config show`: every setting, masked, with where its value came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context
from paysim_cli.secrets import mask_secrets
from paysim_cli.settings import SECRET_FIELDS, Settings

if TYPE_CHECKING:
    from rich.console import Console


def describe_settings(settings: Settings) -> list[dict[str, object]]:
    """Rows of name, masked value, source and whether the value is a secret."""
    rows: list[dict[str, object]] = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        shown = mask_secrets(str(value)) if value is not None else None
        rows.append(
            {
                "name": name,
                "value": shown if isinstance(value, str) or value is None else str(value),
                "source": settings.sources.get(name, "default"),
                "secret": name in SECRET_FIELDS,
            }
        )
    return rows


EXAMPLES = (
    "paysim config show",
    "paysim --env dev config show --json",
)


def show(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Print the resolved settings (secrets masked) and where each value came from."""
    state = app_context(ctx, json_output)
    rows = describe_settings(state.settings)

    def render(console: Console) -> None:
        from rich.table import Table

        table = Table(title=f"paysim settings (env {state.settings.env})")
        for column in ("setting", "value", "source"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                str(row["name"]), "" if row["value"] is None else str(row["value"]), str(row["source"])
            )
        console.print(table)

    state.output.result({"env": state.settings.env, "settings": rows}, render)

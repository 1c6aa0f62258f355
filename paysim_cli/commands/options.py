"""Options shared by many commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print only JSON: {'data': ...} or {'error': {...}}.")
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking for confirmation.")]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="PostgreSQL URL (also PAYSIM_DATABASE_URL); defaults to the local stack's.",
        show_default=False,
    ),
]

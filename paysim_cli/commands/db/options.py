"""Options the `paysim db` commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SqlDirOption = Annotated[
    Path | None,
    typer.Option(
        "--sql-dir",
        help="Directory of NNNN_name.up.sql/.down.sql files. [default: the project's sql/]",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the SQL it would run, in order; change nothing.")
]
LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        help="Seconds to wait while another migrate or rollback holds the migration lock.",
    ),
]
TargetOption = Annotated[int | None, typer.Option("--to", min=0, help="Target version (NNNN as a number).")]

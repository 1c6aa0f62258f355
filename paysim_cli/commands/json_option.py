"""The one `--json` option, apart from commands/options.py so that the root app and a light command
declare it without loading the request models the other shared options read their bounds from."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print only JSON: {'data': ...} or {'error': {...}} on stdout.")
]

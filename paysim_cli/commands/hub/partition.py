"""The partition options of `hub send` and `hub peek`, and the short spelling they gave up.

`-p` is `--profile` everywhere (simulate, demo); here it meant `--partition`, and still does for a
release, hidden from the help, with a warning.
"""

from __future__ import annotations

from typing import Annotated

import typer

PartitionOption = Annotated[
    str | None,
    typer.Option("--partition", help="Send every event to this partition id.", show_default=False),
]
LegacyPartitionOption = Annotated[str | None, typer.Option("-p", hidden=True)]
LegacyPartitionsOption = Annotated[list[str] | None, typer.Option("-p", hidden=True)]

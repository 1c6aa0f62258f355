"""Options the `paysim hub` verbs share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.hub.targets import HubTarget

TargetOption = Annotated[
    HubTarget,
    typer.Option(
        "--target",
        "-t",
        help="local: the embedded event log (paysim local up); eventhub: Azure Event Hubs per the settings.",
    ),
]
ConsumerGroupOption = Annotated[
    str | None,
    typer.Option(
        "--consumer-group",
        "-g",
        help="Consumer group (default: the consumer_group setting).",
        show_default=False,
    ),
]

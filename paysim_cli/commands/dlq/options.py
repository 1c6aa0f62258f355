"""Options the `paysim dlq` verbs share, declared once; parameter names are ItemFilter's fields, so
`validated` names the option a bad value came from."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from paysim_cli.commands.options import option_help
from paysim_cli.dlq.models import ListRequest, ReplayRequest


class StatusChoice(StrEnum):
    PENDING = "pending"
    REPLAYED = "replayed"
    DISCARDED = "discarded"
    ALL = "all"


class ReplayableStatus(StrEnum):
    """What a replay may take: replayed items are counted already."""

    PENDING = "pending"
    DISCARDED = "discarded"


class ResolvedStatus(StrEnum):
    """What a purge may delete: pending items never."""

    DISCARDED = "discarded"
    REPLAYED = "replayed"


StatusOption = Annotated[
    StatusChoice, typer.Option("--status", help="Items in this status; all for every status.")
]
CodeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--code", help="Error code (e.g. schema_violation); repeat for several.", show_default=False
    ),
]
StageOption = Annotated[
    list[str] | None,
    typer.Option("--stage", help="Stage that refused the item (decode, validate, ...).", show_default=False),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="TIME",
        help="Items created at or after: RFC 3339 (UTC if naive) or a duration ago (2h, 7d).",
        show_default=False,
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until",
        metavar="TIME",
        help="Items created before: RFC 3339 or a duration ago.",
        show_default=False,
    ),
]
PartitionOption = Annotated[
    list[str] | None,
    typer.Option("--partition", help="Source partition id; repeat for several.", show_default=False),
]
TransactionIdOption = Annotated[
    str | None,
    typer.Option(
        "--transaction-id", metavar="UUID", help="The payment's transaction_id.", show_default=False
    ),
]
RunIdOption = Annotated[
    str | None, typer.Option("--run-id", help="Items of this simulate run.", show_default=False)
]
IdOption = Annotated[
    list[int] | None, typer.Option("--id", help="Failed item id; repeat for several.", show_default=False)
]
LimitOption = Annotated[
    int, typer.Option("--limit", help=option_help("Items per page, newest first", ListRequest, "limit"))
]
BatchSizeOption = Annotated[
    int,
    typer.Option("--batch-size", help=option_help("Items per transaction", ReplayRequest, "batch_size")),
]
RateOption = Annotated[
    float | None,
    typer.Option("--rate", help=option_help("At most this many items per second", ReplayRequest, "rate")),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        help=option_help("Batches in flight at once, each its own transaction", ReplayRequest, "workers"),
    ),
]


def filter_values(
    status: StrEnum | None,
    codes: list[str] | None,
    stages: list[str] | None,
    since: str | None,
    until: str | None,
    partitions: list[str] | None,
    transaction_id: str | None,
    run_id: str | None,
    ids: list[int] | None,
) -> dict[str, Any]:
    """The filter options as ItemFilter's fields: unset ones left out, `all` as any status."""
    values: dict[str, Any] = {"status": None if status is None or status == StatusChoice.ALL else str(status)}
    given = {
        "codes": codes,
        "stages": stages,
        "since": since,
        "until": until,
        "partitions": partitions,
        "transaction_id": transaction_id,
        "run_id": run_id,
        "ids": ids,
    }
    return values | {name: value for name, value in given.items() if value}

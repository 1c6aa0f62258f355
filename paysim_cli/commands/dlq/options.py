"""Options the `paysim dlq` verbs share, declared once; parameter names are ItemFilter's fields, so
`validated` names the option a bad value came from. `filtered` gives a verb the filter options."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Annotated, Any

import typer

from paysim_cli.commands.options import option_help, validated
from paysim_cli.context import app_context
from paysim_cli.dlq.bounds import CONFIRM_THRESHOLD
from paysim_cli.dlq.models import ItemFilter, ListRequest, ReplayRequest


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
ReplayableStatusOption = Annotated[
    ReplayableStatus, typer.Option("--status", help="Pending items, or discarded ones (these need --yes).")
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


BulkYesOption = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help=f"Act on more than {CONFIRM_THRESHOLD} items, or replay discarded ones, without asking "
        "(a terminal asks; elsewhere paysim refuses).",
    ),
]

# The filter options every filtering verb takes besides --status, as (ItemFilter field, option).
FILTER_OPTIONS: tuple[tuple[str, object], ...] = (
    ("codes", CodeOption),
    ("stages", StageOption),
    ("since", SinceOption),
    ("until", UntilOption),
    ("partitions", PartitionOption),
    ("transaction_id", TransactionIdOption),
    ("run_id", RunIdOption),
    ("ids", IdOption),
)

Command = Callable[..., None]


def filtered(
    status_option: object | None = None, default: StrEnum = StatusChoice.PENDING
) -> Callable[[Command], Command]:
    """Give a verb the filter options (and `status_option` as --status, else pending items only).

    The verb declares `item_filter: ItemFilter` instead of the options and receives them validated:
    one declaration of the options and one way to build the filter for every filtering verb.
    """

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        params = [
            param.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for param in signature.parameters.values()
            if param.name != "item_filter"
        ]
        options: list[tuple[str, object, StrEnum | None]] = []
        if status_option is not None:
            options.append(("status", status_option, default))
        options += [(name, option, None) for name, option in FILTER_OPTIONS]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value, annotation=option)
            for name, option, value in options
        ]
        # After the context and the verb's required options, before its other options.
        at = next((n for n, param in enumerate(params) if param.default is not param.empty), len(params))

        @functools.wraps(command)
        def run(**values: Any) -> None:
            conditions = {name: values.pop(name) for name, _ in FILTER_OPTIONS}
            status = values.pop("status", default)
            # The verb's --json first: a bad filter is reported in the mode asked for.
            app_context(values["ctx"], values.get("json_output", False))
            item_filter = validated(values["ctx"], ItemFilter, **filter_values(status, conditions))
            command(**values, item_filter=item_filter)

        params[at:at] = added
        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        # Typer reads the annotations too: the new ones, evaluated, not the verb's own.
        run.__annotations__ = {param.name: param.annotation for param in params} | {"return": None}
        return run

    return decorate


def filter_values(status: StrEnum | None, conditions: Mapping[str, Any]) -> dict[str, Any]:
    """The filter options as ItemFilter's fields: unset ones left out, `all` as any status."""
    values: dict[str, Any] = {"status": None if status is None or status == StatusChoice.ALL else str(status)}
    return values | {name: value for name, value in conditions.items() if value}

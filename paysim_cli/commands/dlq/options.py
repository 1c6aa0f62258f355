"""Options the `paysim dlq` verbs share, declared once; building their request models, whose
validation errors become one-line usage errors naming the option."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from paysim_cli.errors import ExitCode, PaysimError


class StatusChoice(StrEnum):
    PENDING = "pending"
    REPLAYED = "replayed"
    DISCARDED = "discarded"
    ALL = "all"


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

# Request field -> the option that sets it, for error messages.
OPTION_NAMES = {
    "filter": "--status",  # the verbs' own rules on the filter are about the status they act on
    "status": "--status",
    "codes": "--code",
    "stages": "--stage",
    "since": "--since",
    "until": "--until",
    "partitions": "--partition",
    "transaction_id": "--transaction-id",
    "run_id": "--run-id",
    "ids": "--id",
    "limit": "--limit",
    "after_id": "--after-id",
    "rate": "--rate",
    "batch_size": "--batch-size",
    "workers": "--workers",
    "reason": "--reason",
    "older_than": "--older-than",
    "output": "--output",
}

Request = TypeVar("Request", bound=BaseModel)


def filter_values(
    status: StatusChoice,
    codes: list[str] | None,
    stages: list[str] | None,
    since: str | None,
    until: str | None,
    partitions: list[str] | None,
    transaction_id: str | None,
    run_id: str | None,
    ids: list[int] | None,
) -> dict[str, Any]:
    """The filter options as ItemFilter's fields (unset ones left out, `all` as no status)."""
    values: dict[str, Any] = {"status": None if status is StatusChoice.ALL else str(status)}
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


def build_request(model: type[Request], verb: str, **values: Any) -> Request:
    """`model(**values)`; a validation error is a usage error naming the option and the rule."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        fields = [part for part in first["loc"] if isinstance(part, str)]
        option = OPTION_NAMES.get(fields[-1], fields[-1]) if fields else "options"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise PaysimError(
            "invalid_option",
            f"{option}: {message}",
            f"see `paysim dlq {verb} --help`",
            exit_code=ExitCode.USAGE,
        ) from error

"""Options shared by many commands, declared once; their bounds come from the request models.

A request model (`SimulationRequest`, `PipelineRequest`, ...) owns its bounds. The options here show
them in `--help` (`limits`), and `validated` is the one way a command builds its request: a value out
of bounds is a usage error (exit 2) naming the option and its limits, not a pydantic dump.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_origin

import annotated_types
import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

# Re-exported for the commands that import every option from here (mypy's explicit re-export form).
from paysim_cli.commands.json_option import JsonOption as JsonOption  # noqa: PLC0414
from paysim_cli.demo.request import DemoRequest
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget, default_transport
from paysim_cli.output import Output
from paysim_cli.pipeline.request import PipelineRequest
from paysim_cli.settings import Settings
from paysim_cli.simulator.request import SimulationRequest

Request = TypeVar("Request", bound=BaseModel)


def _constraints(model: type[BaseModel], field: str) -> list[object]:
    """A field's constraints, also those inside `Annotated[...] | None` (an optional bounded value)."""
    info = model.model_fields[field]
    found = list(info.metadata)
    for argument in get_args(info.annotation):
        if get_origin(argument) is Annotated:
            for extra in argument.__metadata__:
                found.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
    return found


def _number(value: object) -> str:
    if isinstance(value, int) and value >= 2**32 and value & (value - 1) == 0:
        return f"2^{value.bit_length() - 1}"  # 2^63 reads better than 9,223,372,036,854,775,808
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def limits(model: type[BaseModel], field: str) -> str:
    """A field's bounds as people read them: `1 <= N <= 32`, `N > 0`; '' when it has none."""
    lower: tuple[str, object] | None = None
    upper: tuple[str, object] | None = None
    for constraint in _constraints(model, field):
        if isinstance(constraint, annotated_types.Gt):
            lower = ("<", constraint.gt)
        elif isinstance(constraint, annotated_types.Ge):
            lower = ("<=", constraint.ge)
        elif isinstance(constraint, annotated_types.Lt):
            upper = ("<", constraint.lt)
        elif isinstance(constraint, annotated_types.Le):
            upper = ("<=", constraint.le)
    if lower and upper:
        return f"{_number(lower[1])} {lower[0]} N {upper[0]} {_number(upper[1])}"
    if lower:
        return f"N {lower[0].replace('<', '>')} {_number(lower[1])}"
    return f"N {upper[0]} {_number(upper[1])}" if upper else ""


def option_help(text: str, model: type[BaseModel], field: str) -> str:
    """`text`, ending with the bounds the request model declares for `field`."""
    bounds = limits(model, field)
    return f"{text} ({bounds})." if bounds else f"{text}."


def validated(ctx: typer.Context, model: type[Request], **values: Any) -> Request:
    """`model` built from the command's options; a value it rejects is a usage error naming the option."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise invalid_option(ctx, model, error) from error


def invalid_option(ctx: typer.Context, model: type[BaseModel], error: ValidationError) -> PaysimError:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    option = _option_name(ctx, field)
    bounds = limits(model, field) if field in model.model_fields else ""
    reason = f"must be {bounds}" if bounds and first["type"] in _RANGE_ERRORS else first["msg"]
    return PaysimError(
        "invalid_option",
        f"{option}: {reason}, not {first.get('input')!r}",
        f"`{ctx.command_path} --help` shows every option and its limits",
        exit_code=ExitCode.USAGE,
    )


_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def _option_name(ctx: typer.Context, field: str) -> str:
    """The spelling the user typed for the parameter that fed `field` (`--max-wait-ms`)."""
    for param in ctx.command.params:
        if param.name == field and param.opts and not getattr(param, "hidden", False):
            return str(max(param.opts, key=len))
    return f"--{field.replace('_', '-')}"


def deprecated_alias(output: Output, old: str, new: str) -> None:
    """An old spelling still works for a release, with a warning that names the new one."""
    output.warn(f"{old} is deprecated and will be removed: use {new}")


def transport_for(
    settings: Settings, output: Output, transport: HubTarget | None, legacy: Mapping[str, HubTarget | None]
) -> HubTarget:
    """--transport, else a deprecated spelling of it, else the environment's default transport."""
    return chosen_transport(output, transport, legacy) or default_transport(settings)


def chosen_transport(
    output: Output, transport: HubTarget | None, legacy: Mapping[str, HubTarget | None]
) -> HubTarget | None:
    """--transport or a deprecated spelling of it (with a warning); None when neither was given."""
    for old, value in legacy.items():
        if value is not None:
            deprecated_alias(output, old, "--transport")
            transport = transport or value
    return transport


ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="Also write the run's HTML report to this file, as `paysim runs report RUN_ID` does.",
        show_default=False,
    ),
]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes", "-y", help="Do it without asking (at a terminal paysim asks; elsewhere it refuses)."
    ),
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="PostgreSQL URL (also PAYSIM_DATABASE_URL); defaults to the local stack's.",
        show_default=False,
    ),
]
TransportOption = Annotated[
    HubTarget | None,
    typer.Option(
        "--transport",
        "-t",
        help="local: the embedded event log; eventhub: Event Hubs through the SDK (with `paysim local up`, "
        "its AMQP endpoint).",
        show_default="local with --env local, else eventhub",
    ),
]
# The spellings --transport replaced; they still work for a release, hidden from the help.
LegacyTargetOption = Annotated[HubTarget | None, typer.Option("--target", hidden=True)]
LegacySourceOption = Annotated[HubTarget | None, typer.Option("--source", hidden=True)]
ProfileOption = Annotated[
    str,
    typer.Option(
        "--profile", "-p", help="Load profile: a name from `paysim profiles list`, or a .yaml path."
    ),
]
RateOption = Annotated[
    float | None,
    typer.Option(
        "--rate",
        help=option_help(
            "Flat rate in events/s, replacing the profile's rate and stages", SimulationRequest, "rate"
        ),
        show_default=False,
    ),
]
DurationOption = Annotated[
    float | None,
    typer.Option(
        "--duration",
        help=option_help(
            "Seconds to send for, replacing the profile's duration", SimulationRequest, "duration"
        ),
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help=option_help(
            "Seed of the event stream: the same seed, profile and --start-time give the same bytes",
            SimulationRequest,
            "seed",
        ),
        show_default="random",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", "-w", help=option_help("Worker processes", SimulationRequest, "workers")),
]
ConsumerGroupOption = Annotated[
    str | None,
    typer.Option(
        "--consumer-group",
        "-g",
        help="Consumer group the pipeline reads with.",
        show_default="the consumer_group setting",
    ),
]
BatchSizeOption = Annotated[
    int,
    typer.Option(help=option_help("Most events per invocation", PipelineRequest, "batch_size")),
]
MaxWaitOption = Annotated[
    int,
    typer.Option(
        help=option_help(
            "Milliseconds a worker whose partitions are caught up waits for new events",
            PipelineRequest,
            "max_wait_ms",
        )
    ),
]
DrainTimeoutOption = Annotated[
    float,
    typer.Option(
        help=option_help("Longest wait in seconds for the pipeline to catch up", DemoRequest, "drain_timeout")
    ),
]

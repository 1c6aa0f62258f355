"""`paysim health`: every box of the pipeline checked at once; exit 0 healthy, 11 not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.json_option import JsonOption
from paysim_cli.context import AppContext, app_context
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.health.models import CheckName, HealthReport, HealthRequest, parse_thresholds

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_WATCH_SECONDS = 2.0
EXAMPLES = (
    "paysim health",
    "paysim health --check database --check migrations --json",
    "paysim --env dev health --wait-healthy --timeout 600",
    "paysim health --watch 5",
)

CheckOption = Annotated[
    list[CheckName] | None,
    typer.Option("--check", help="Run only this check; repeat for more. [default: all but canary]"),
]
ThresholdOption = Annotated[
    list[str] | None,
    typer.Option(
        "--threshold",
        metavar="NAME=VALUE",
        help="Override a threshold of the environment's [env.NAME.health] settings; repeatable.",
    ),
]


def health(
    ctx: typer.Context,
    seconds: Annotated[
        float | None,
        typer.Argument(metavar="[SECONDS]", help="With --watch: seconds between refreshes. [default: 2]"),
    ] = None,
    check: CheckOption = None,
    probe: Annotated[
        bool, typer.Option("--probe", help="Also send a canary payment and time it to its commit.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="A warning is unhealthy too (exit 11).")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh a live view until Ctrl-C.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait-healthy", help="Check again until healthy, or until --timeout.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="With --wait-healthy: seconds to wait at most.", min=0)
    ] = 300.0,
    threshold: ThresholdOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check the hub, lag, freshness, database, migrations, blob, function and dead letters at once."""
    from paysim_cli.health import run_checks, wait_healthy

    state = app_context(ctx, json_output)
    request = HealthRequest(
        checks=tuple(check) if check else HealthRequest().checks,
        probe=probe,
        strict=strict,
        thresholds=parse_thresholds(threshold or []),
    )
    request.effective_thresholds(state.settings)  # a bad --threshold is a usage error before any check
    if seconds is not None and not watch:
        raise PaysimError(
            "unexpected_argument",
            f"SECONDS ({seconds:g}) is the refresh interval of --watch",
            "add --watch, or drop the number",
            exit_code=ExitCode.USAGE,
        )
    if watch:
        _watch(state, request, seconds or DEFAULT_WATCH_SECONDS)
        return
    if wait:
        report = wait_healthy(
            state.settings, request, timeout=timeout, on_report=lambda r: state.output.status(status_of(r))
        )
    else:
        report = run_checks(state.settings, request)
    _finish(state, report, waited=timeout if wait else None)


def status_of(report: HealthReport) -> str:
    from paysim_cli.commands.health.render import status_line

    return status_line(report)


def _finish(state: AppContext, report: HealthReport, *, waited: float | None) -> None:
    """Print the report (inside the error document in --json when unhealthy) and exit by its verdict."""
    from paysim_cli.commands.health.render import print_report, publish_to_ci

    publish_to_ci(state.output, report)

    def render(console: Console) -> None:
        print_report(console, report)

    state.output.outcome(report, render, report.failure(waited))


def _watch(state: AppContext, request: HealthRequest, interval: float) -> None:
    """A live table at a terminal; otherwise a line (or, in --json, a JSON document) per report."""
    from paysim_cli.commands.health.live import watch_reports

    watch_reports(state, request, interval)

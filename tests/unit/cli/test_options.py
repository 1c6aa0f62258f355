"""Options declared once: bounds read from the request models, one way to turn a rejected value into a
usage error that names the option and its limits, and the transport chosen by the environment."""

from __future__ import annotations

import io

import pytest
import typer
from typer.testing import CliRunner

from paysim_cli.commands.options import limits, transport_for, validated
from paysim_cli.demo.request import DemoRequest
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.output import Output
from paysim_cli.pipeline.request import PipelineRequest
from paysim_cli.settings import Settings
from paysim_cli.simulator.request import SimulationRequest


def test_limits_as_people_read_them() -> None:
    assert limits(SimulationRequest, "workers") == "1 <= N <= 32"
    assert limits(SimulationRequest, "rate") == "0 < N <= 1,000,000"  # inside `Rate | None`
    assert limits(SimulationRequest, "seed") == "0 <= N < 2^63"
    assert limits(PipelineRequest, "max_wait_ms") == "0 <= N <= 60,000"
    assert limits(PipelineRequest, "drain_grace_seconds") == "N >= 0"
    assert limits(DemoRequest, "drain_timeout") == "0 < N <= 3,600"
    assert limits(SimulationRequest, "profile") == ""
    # The demo's simulation shares the simulator's bounds: one rate cap, one worker cap.
    assert limits(DemoRequest, "rate") == limits(SimulationRequest, "rate")
    assert limits(DemoRequest, "workers") == limits(PipelineRequest, "workers")


def _rejected(*args: str) -> PaysimError:
    app = typer.Typer()
    caught: list[PaysimError] = []

    @app.command()
    def run(
        ctx: typer.Context,
        max_wait_ms: int = 50,
        function_name: str = typer.Option("f", "--function"),
    ) -> None:
        try:
            validated(ctx, PipelineRequest, max_wait_ms=max_wait_ms, function_name=function_name)
        except PaysimError as error:
            caught.append(error)

    assert CliRunner().invoke(app, list(args)).exit_code == 0
    return caught[0]


def test_a_value_out_of_bounds_is_a_usage_error_naming_the_option_and_its_limits() -> None:
    error = _rejected("--max-wait-ms", "70000")
    assert (error.code, error.exit_code) == ("invalid_option", ExitCode.USAGE)
    assert error.message == "--max-wait-ms: must be 0 <= N <= 60,000, not 70000"
    assert error.hint is not None
    assert "--help` shows every option and its limits" in error.hint


def test_transport_follows_the_environment_unless_given() -> None:
    stderr = io.StringIO()
    output = Output(stderr=stderr, stdout=io.StringIO())
    assert transport_for(Settings(), output, None, {}) is HubTarget.LOCAL
    assert transport_for(Settings(env="dev"), output, None, {}) is HubTarget.EVENTHUB
    assert transport_for(Settings(env="dev"), output, HubTarget.LOCAL, {}) is HubTarget.LOCAL
    assert stderr.getvalue() == ""
    assert transport_for(Settings(), output, None, {"--target": HubTarget.EVENTHUB}) is HubTarget.EVENTHUB
    assert stderr.getvalue() == "warning: --target is deprecated and will be removed: use --transport\n"


@pytest.mark.parametrize(
    ("line", "spelling"),
    [("hub info --target local", "--target"), ("hub peek -p 0", "-p")],
)
def test_an_old_spelling_still_works_with_a_warning(cli, line: str, spelling: str) -> None:
    result = cli(*line.split())
    assert f"warning: {spelling} is deprecated" in result.stderr
    assert result.exit_code == ExitCode.UNAVAILABLE  # it got as far as the (missing) local log

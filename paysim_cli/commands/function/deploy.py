"""`paysim function deploy`: store, apply and gate a release; roll back by itself when it fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paysim_cli.commands.function.confirmation import confirmation
from paysim_cli.commands.function.options import (
    DeployProductionOption,
    EnvOption,
    FunctionDirOption,
    RemoteBuildOption,
    function_context,
)
from paysim_cli.commands.options import JsonOption, YesOption, option_help, validated
from paysim_cli.deploy.request import DeployRequest, GateRequest

GateSecondsOption = Annotated[
    float,
    typer.Option(
        "--gate-seconds",
        help=option_help(
            "How long the pipeline must stay healthy on the new release", GateRequest, "seconds"
        ),
    ),
]
GateTimeoutOption = Annotated[
    float,
    typer.Option(
        "--gate-timeout",
        help=option_help(
            "How long the host may take to run the new release", GateRequest, "start_timeout_seconds"
        ),
    ),
]
MaxLagGrowthOption = Annotated[
    float,
    typer.Option(
        "--max-lag-growth",
        help=option_help(
            "Events/s the lag may grow by while the gate watches", GateRequest, "max_lag_growth_per_second"
        ),
    ),
]
DeployTimeoutOption = Annotated[
    float,
    typer.Option(
        "--deploy-timeout",
        help=option_help(
            "How long an Azure deployment (a remote build) may take", DeployRequest, "deploy_timeout_seconds"
        ),
    ),
]


EXAMPLES = (
    "paysim function deploy --env local",
    "paysim function deploy --env dev --package dist/paysim-function-4f1c2a9b0d3e-12a93e62.zip --yes",
    "paysim function deploy --env staging --gate-seconds 120 --yes --json",
    "paysim function deploy --env production --package release.zip --yes --deploy-production",
    "paysim function deploy --env local --no-gate",
)


def deploy(
    ctx: typer.Context,
    package: Annotated[
        Path | None,
        typer.Option(
            "--package", help="A zip from `paysim function package`. [default: build one now]", dir_okay=False
        ),
    ] = None,
    env: EnvOption = None,
    function_dir: FunctionDirOption = None,
    remote_build: RemoteBuildOption = False,
    gate: Annotated[
        bool, typer.Option("--gate/--no-gate", help="Watch the pipeline after the deploy.")
    ] = True,
    seconds: GateSecondsOption = GateRequest().seconds,
    start_timeout_seconds: GateTimeoutOption = GateRequest().start_timeout_seconds,
    max_lag_growth: MaxLagGrowthOption = GateRequest().max_lag_growth_per_second,
    deploy_timeout_seconds: DeployTimeoutOption = DeployRequest().deploy_timeout_seconds,
    yes: YesOption = False,
    deploy_production: DeployProductionOption = False,
    json_output: JsonOption = False,
) -> None:
    """Deploy a release with its settings file (settings/ENV.json); exit 12 when it was rolled back."""
    from paysim_cli.commands.function.render import deploy_failure_blocks, render_deployed
    from paysim_cli.deploy.service import deploy as deploy_release

    state, settings = function_context(ctx, json_output, env)
    request = validated(
        ctx,
        DeployRequest,
        package=package,
        function_dir=function_dir,
        remote_build=remote_build,
        gate=gate,
        gate_request=validated(
            ctx,
            GateRequest,
            seconds=seconds,
            start_timeout_seconds=start_timeout_seconds,
            max_lag_growth_per_second=max_lag_growth,
        ),
        deploy_timeout_seconds=deploy_timeout_seconds,
        production_confirmed=deploy_production,
    )
    confirm = confirmation(state, settings, yes, "deploy")
    with deploy_failure_blocks(state.output):
        report = deploy_release(settings, request, on_status=state.output.status, confirm=confirm)
    state.output.result(report, lambda console: render_deployed(console, report))

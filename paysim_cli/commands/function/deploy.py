"""`paysim function deploy`: store, apply and gate a release; roll back by itself when it fails."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.function.options import (
    EnvOption,
    FunctionDirOption,
    RemoteBuildOption,
    function_context,
)
from paysim_cli.commands.options import JsonOption, YesOption, option_help, validated
from paysim_cli.context import AppContext
from paysim_cli.deploy.request import DeployRequest, GateRequest
from paysim_cli.errors import ExitCode, PaysimError

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.deploy.appsettings import SettingsDiff
    from paysim_cli.deploy.manifest import ReleaseManifest
    from paysim_cli.deploy.service import Confirm
    from paysim_cli.settings import Settings

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
    deploy_timeout_seconds: DeployTimeoutOption = DeployRequest().deploy_timeout_seconds,
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Deploy a release with its settings file (settings/ENV.json); exit 12 when it was rolled back."""
    from paysim_cli.commands.function.render import (
        render_deployed,
        render_failed_block,
        render_rollback_block,
    )
    from paysim_cli.deploy.service import DeployFailed, RolledBack
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
            ctx, GateRequest, seconds=seconds, start_timeout_seconds=start_timeout_seconds
        ),
        deploy_timeout_seconds=deploy_timeout_seconds,
    )
    try:
        report = deploy_release(
            settings, request, on_status=state.output.status, confirm=confirmation(state, settings, yes)
        )
    except RolledBack as rolled_back:
        if not state.output.json_mode:
            render_rollback_block(state.output.err_console, rolled_back.deploy_report)
        raise
    except DeployFailed as failed:
        if not state.output.json_mode:
            render_failed_block(state.output.err_console, failed.deploy_report, failed.message)
        raise

    def render(console: Console) -> None:
        render_deployed(console, report)

    state.output.result(report, render)


def confirmation(state: AppContext, settings: Settings, yes: bool) -> Confirm:
    """Show what changes (stderr), and ask before touching a shared environment unless --yes; the local
    environment is this machine's own and needs no confirmation."""

    def confirm(manifest: ReleaseManifest | None, diff: SettingsDiff) -> None:
        from paysim_cli.commands.function.render import render_diff

        if not state.output.json_mode:
            console = state.output.err_console
            if manifest is not None:
                console.print(
                    f"release {manifest.version} (commit {manifest.commit or 'none'}) -> {settings.env}",
                    markup=False,
                )
            render_diff(console, diff)
        if yes or settings.is_local:
            return
        from paysim_cli.commands.confirm import confirmed

        what = f"release {manifest.version}" if manifest is not None else "these settings"
        if not confirmed(state.output, f"Deploy {what} to {settings.env}?", yes=False):
            raise PaysimError(
                "confirmation_required",
                f"deploying {what} to {settings.env} needs a confirmation, and no terminal can answer",
                "pass --yes where nobody can answer (CI); nothing was changed",
                exit_code=ExitCode.ABORTED,
            )

    return confirm

"""`paysim function package`: the deterministic, deployable zip of the Function app."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.function.options import FunctionDirOption, RemoteBuildOption
from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console


EXAMPLES = (
    "paysim function package",
    "paysim function package --remote-build --output /tmp/release --json",
)


def package(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory the zip is written to.", file_okay=False)
    ] = Path("dist"),
    function_dir: FunctionDirOption = None,
    remote_build: RemoteBuildOption = False,
    json_output: JsonOption = False,
) -> None:
    """Build paysim-function-VERSION.zip: function/ minus .funcignore, vendored Linux wheels, a manifest."""
    from paysim_cli.deploy.package import PackageRequest, build_package

    state = app_context(ctx, json_output)
    state.output.status("building the Function package (the first build downloads the wheels)")
    report = build_package(
        state.settings,
        PackageRequest(function_dir=function_dir, output_dir=output, remote_build=remote_build),
    )

    def render(console: Console) -> None:
        console.print(f"release {report.version}: {report.path}", markup=False)
        console.print(
            f"  {report.bytes:,} bytes, {report.files:,} files, sha256 {report.sha256}", markup=False
        )
        deps = "left to the service's build" if report.remote_build else f"{report.dependencies} vendored"
        console.print(f"  functions: {', '.join(report.functions)}; dependencies: {deps}", markup=False)
        commit = report.commit or "none (not a git checkout)"
        console.print(f"  commit: {commit}{' (with local changes)' if report.dirty else ''}", markup=False)

    state.output.result(report, render)

"""What the `paysim function` verbs show people: settings diffs, deploy outcomes, the rollback block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from paysim_cli.deploy.appsettings import SettingsDiff
from paysim_cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.deploy.gate import GateReport
    from paysim_cli.deploy.service import DeployReport

_SIGNS = {"added": "+", "changed": "~", "removed": "-"}


def render_diff(console: Console, diff: SettingsDiff) -> None:
    """Each release setting that changes (secret-looking values masked), and what stays."""
    if diff.empty:
        console.print(f"release settings: no change ({diff.source})", markup=False)
    else:
        console.print(f"release settings from {diff.source}:", markup=False)
        for change in diff.changes:
            if change.change == "added":
                detail = f"= {change.after}"
            elif change.change == "removed":
                detail = f"(was {change.before}; the function's default applies)"
            else:
                detail = f"{change.before} -> {change.after}"
            console.print(f"  {_SIGNS[change.change]} {change.name} {detail}", markup=False)
    kept = f"{len(diff.unchanged)} unchanged" if diff.unchanged else ""
    untouched = f"{diff.untouched} owned by Terraform, untouched" if diff.untouched else ""
    rest = ", ".join(part for part in (kept, untouched) if part)
    if rest:
        console.print(f"  ({rest})", markup=False)


def render_gate(console: Console, gate: GateReport | None) -> None:
    if gate is None:
        console.print("  gate: skipped (--no-gate)", markup=False)
        return
    verdict = "passed" if gate.passed else f"FAILED: {gate.reason}"
    lag = (
        f", lag {gate.lag_first:,} -> {gate.lag_last:,} ({gate.lag_growth_per_second:+,.0f}/s)"
        if gate.lag_first is not None and gate.lag_last is not None and gate.lag_growth_per_second is not None
        else ""
    )
    console.print(
        f"  gate: {verdict} (host ran it after {gate.start_seconds:g} s, healthy "
        f"{gate.settle_seconds:g} s later; "
        f"watched {gate.observed_seconds:g} s, "
        f"{gate.health_reports} health reports, {gate.invocations:,} invocations, "
        f"{gate.failed_invocations} failed{lag})",
        markup=False,
    )


def render_deployed(console: Console, report: DeployReport) -> None:
    console.print(f"deployed release {report.version} to {report.target} ({report.env})", markup=False)
    console.print(f"  deployment {report.deployment_id}, {report.duration_seconds:g} s", markup=False)
    if report.previous:
        console.print(f"  previous release: {report.previous}", markup=False)
    render_gate(console, report.gate)


def render_rollback_block(console: Console, report: DeployReport) -> None:
    """The one block that says a deploy failed and what paysim did about it."""
    back_to = report.rolled_back_to or "the working tree's function/ (no earlier release)"
    rule = "=" * 72
    console.print(rule, markup=False)
    console.print(f"ROLLED BACK: release {report.version} did not go live on {report.env}", markup=False)
    console.print(f"  why:         {report.reason}", markup=False)
    took = "" if report.rollback_seconds is None else f" (rolled back in {report.rollback_seconds:g} s)"
    console.print(f"  now running: {back_to}, with the settings it ran with{took}", markup=False)
    console.print(f"  deployment:  {report.deployment_id} (see `paysim function releases`)", markup=False)
    if report.gate is not None:
        render_gate(console, report.gate)
    console.print(rule, markup=False)


def render_failed_block(console: Console, report: DeployReport, message: str) -> None:
    rule = "=" * 72
    console.print(rule, markup=False)
    console.print(f"DEPLOY FAILED, NOT ROLLED BACK: release {report.version} on {report.env}", markup=False)
    console.print(f"  why:      {report.reason}", markup=False)
    console.print(f"  rollback: {report.rollback_error or message}", markup=False)
    console.print("  check what runs: `paysim function status`", markup=False)
    console.print(rule, markup=False)


@contextmanager
def deploy_failure_blocks(output: Output) -> Iterator[None]:
    """A deploy that failed after changing something says so in its block (stderr) before its error."""
    from paysim_cli.deploy.service import DeployFailed, RolledBack

    try:
        yield
    except RolledBack as rolled_back:
        if not output.json_mode:
            render_rollback_block(output.err_console, rolled_back.deploy_report)
        raise
    except DeployFailed as failed:
        if not output.json_mode:
            render_failed_block(output.err_console, failed.deploy_report, failed.message)
        raise

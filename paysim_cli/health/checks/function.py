"""The Function's check: locally, live host workers and the code they run; in Azure, the app through ARM.

Locally there is no registry of worker processes to ask, and a pid says nothing about whether a worker
still consumes. What proves a worker alive is what it does: every worker of `paysim pipeline run`
renews its partition leases in the local log about once a second (`LocalEventLog.claim_partitions`).
So a worker is alive when its leases were renewed within `worker_stale_seconds`, stale when its
leases still stand but were not renewed (killed, hung, or stuck retrying), and gone when they expired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from paysim_cli.health.checks.arm import FunctionAppState, read_function_app
from paysim_cli.health.checks.base import CheckContext, result
from paysim_cli.health.models import CheckName, CheckResult, CheckStatus
from paysim_cli.pipeline.leases import LEASE_SECONDS
from paysim_cli.pipeline.request import DEFAULT_FUNCTION_NAME


def check_function(context: CheckContext) -> CheckResult:
    if context.settings.is_local:
        return check_local_host(context)
    return check_function_app(context)


def active_release(state_dir: Path) -> str:
    """What `paysim pipeline run` runs: the release the active pointer names (`paysim function deploy
    --env local`), else the working tree's function/."""
    from paysim_cli.pipeline.release import describe, read_active

    return describe(read_active(state_dir))


def check_local_host(context: CheckContext) -> CheckResult:
    """Workers of `paysim pipeline run`, seen through the consumer group's partition leases."""
    from paysim_cli.hub.local_log import LocalEventLog

    settings = context.settings
    with LocalEventLog.open(settings.event_log_path) as log:
        leases = log.partition_leases(settings.consumer_group)
        partitions = log.partition_ids()
    now = datetime.now(UTC)
    renewed: dict[str, datetime] = {}
    for lease in leases:
        at = lease.expires_at - timedelta(seconds=LEASE_SECONDS)
        renewed[lease.owner_id] = max(renewed.get(lease.owner_id, at), at)
    ages = {owner: max(0.0, (now - at).total_seconds()) for owner, at in renewed.items()}
    stale = sorted(owner for owner, age in ages.items() if age > context.thresholds.worker_stale_seconds)
    alive = len(ages) - len(stale)
    owned = {lease.partition_id for lease in leases}
    release = active_release(settings.state_dir)
    details: dict[str, Any] = {
        "workers_alive": alive,
        "workers_stale": len(stale),
        "partitions_owned": len(owned),
        "partitions": len(partitions),
        "lease_ages_seconds": {owner: round(age, 2) for owner, age in sorted(ages.items())},
        "release": release,
        "consumer_group": settings.consumer_group,
    }
    value = f"{alive} workers, {len(owned)}/{len(partitions)} partitions"
    if not alive:
        return result(
            CheckName.FUNCTION,
            CheckStatus.FAIL,
            f"no pipeline worker is consuming {settings.consumer_group}"
            + (f" ({len(stale)} stopped renewing their leases)" if stale else ""),
            value=value,
            hint="start the local host: `paysim pipeline run` (it runs " + release + ")",
            **details,
        )
    if stale or len(owned) < len(partitions):
        unowned = len(partitions) - len(owned)
        return result(
            CheckName.FUNCTION,
            CheckStatus.WARN,
            f"{alive} workers alive; {len(stale)} stopped renewing, {unowned} partitions unowned",
            value=value,
            hint=f"partitions move to the live workers within {LEASE_SECONDS:.0f} s; if this stays, "
            "restart `paysim pipeline run`",
            **details,
        )
    return result(
        CheckName.FUNCTION,
        CheckStatus.OK,
        f"{alive} workers own all {len(partitions)} partitions, running {release}",
        value=value,
        **details,
    )


def check_function_app(context: CheckContext) -> CheckResult:
    """The app runs, its host is Running without errors, and it registered the pipeline's function."""
    app = read_function_app(context.settings, context.azure_credential())
    problems = _problems(app)
    details: dict[str, Any] = {
        "app": app.name,
        "state": app.state,
        "availability": app.availability,
        "host_state": app.host_state,
        "host_version": app.host_version,
        "host_errors": app.host_errors,
        "functions": sorted(app.functions),
    }
    value = f"{app.state}, host {app.host_state}, {len(app.functions)} functions"
    if problems:
        return result(
            CheckName.FUNCTION,
            CheckStatus.FAIL,
            f"Function App {app.name}: " + "; ".join(problems),
            value=value,
            hint="`paysim function status` and the app's Diagnose and solve problems blade say why; "
            "redeploy the last good release if a deploy broke it",
            **details,
        )
    return result(
        CheckName.FUNCTION,
        CheckStatus.OK,
        f"Function App {app.name} is running {DEFAULT_FUNCTION_NAME} (host {app.host_version})",
        value=value,
        **details,
    )


def _problems(app: FunctionAppState) -> list[str]:
    problems = []
    if app.state != "Running" or app.enabled is False:
        problems.append(f"the app is {app.state or 'in an unknown state'}")
    if app.availability not in (None, "Normal"):
        problems.append(f"availability is {app.availability}")
    if app.host_state != "Running":
        problems.append(f"the host is {app.host_state or 'not reporting'}")
    if app.host_errors:
        problems.append(f"host errors: {'; '.join(app.host_errors[:3])}")
    if DEFAULT_FUNCTION_NAME not in app.functions:
        problems.append(f"{DEFAULT_FUNCTION_NAME} is not registered ({len(app.functions)} functions are)")
    elif not app.functions[DEFAULT_FUNCTION_NAME]:
        problems.append(f"{DEFAULT_FUNCTION_NAME} is disabled")
    return problems

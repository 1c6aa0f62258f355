"""The `paysim infra` verbs as plain functions: init, plan, apply the saved plan, destroy, output."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from paysim_cli.confirmation import require_confirmed, require_production_confirmed
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.infra.plan import PlanRecord, PlanSummary, summarize_plan
from paysim_cli.infra.profile import connection_profile, write_profile
from paysim_cli.infra.terraform import PLAN_HAS_CHANGES, run_terraform, stale_plan_error
from paysim_cli.infra.workspace import Workspace, configuration_digest, resolve_workspace
from paysim_cli.settings import Settings

_APPLY_COMPLETE = re.compile(r"Resources: (\d+) added, (\d+) changed, (\d+) destroyed")
_DESTROY_COMPLETE = re.compile(r"Resources: (\d+) destroyed")


class InitReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    env: str
    directory: Path
    backend_config: Path | None


class PlanReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    env: str
    plan_file: Path
    summary: PlanSummary


class ApplyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    env: str
    added: int
    changed: int
    destroyed: int


class DestroyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    env: str
    destroyed: int
    removed_profile: Path | None


class ProfileReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    env: str
    path: Path
    profile: dict[str, Any]


def init(settings: Settings) -> InitReport:
    """`terraform init` in the environment's root, with its backend.hcl when it has one."""
    workspace = resolve_workspace(settings)
    backend = workspace.backend_config
    run_terraform(
        workspace,
        "init",
        input=False,
        reconfigure=True,
        backend_config=str(backend) if backend else None,
    )
    return InitReport(env=workspace.env, directory=workspace.env_dir, backend_config=backend)


def plan(settings: Settings) -> PlanReport:
    """Plan into the state directory and record what it was made from, replacing any earlier plan."""
    workspace = resolve_workspace(settings)
    _forget_plan(workspace)
    workspace.state_dir.mkdir(parents=True, exist_ok=True)
    digest = configuration_digest(workspace)
    run_terraform(
        workspace,
        "plan",
        input=False,
        detailed_exitcode=True,
        out=str(workspace.plan_path),
        accept=frozenset({0, PLAN_HAS_CHANGES}),
    )
    workspace.plan_path.chmod(0o600)  # a plan holds variable values and state
    shown = run_terraform(workspace, "show", str(workspace.plan_path), json=True)
    summary = summarize_plan(orjson.loads(shown.stdout))
    record = PlanRecord(
        env=workspace.env,
        root=str(workspace.root),
        configuration_digest=digest,
        created_at=datetime.now(UTC),
        summary=summary,
    )
    workspace.plan_record_path.write_text(record.model_dump_json(indent=2), encoding="utf-8")
    return PlanReport(env=workspace.env, plan_file=workspace.plan_path, summary=summary)


def read_saved_plan(settings: Settings) -> PlanRecord:
    """The saved plan's record, if the plan exists and the configuration has not changed since."""
    workspace = resolve_workspace(settings)
    return _fresh_record(workspace)


def apply_saved_plan(settings: Settings) -> ApplyReport:
    """Apply exactly the saved plan; a plan applies once, so it is removed afterwards."""
    workspace = resolve_workspace(settings)
    _fresh_record(workspace)
    run = run_terraform(workspace, "apply", str(workspace.plan_path), input=False)
    _forget_plan(workspace)
    counts = _APPLY_COMPLETE.search(run.stdout)
    added, changed, destroyed = (int(group) for group in counts.groups()) if counts else (0, 0, 0)
    return ApplyReport(env=workspace.env, added=added, changed=changed, destroyed=destroyed)


def destroy(settings: Settings, *, confirmed: bool, production_confirmed: bool = False) -> DestroyReport:
    """Destroy every resource of the environment; production needs a second confirmation."""
    workspace = check_destroy_confirmed(
        settings, confirmed=confirmed, production_confirmed=production_confirmed
    )
    run = run_terraform(workspace, "destroy", input=False, auto_approve=True)
    _forget_plan(workspace)
    removed = workspace.profile_path if workspace.profile_path.exists() else None
    if removed is not None:  # it names resources that no longer exist
        removed.unlink()
    counts = _DESTROY_COMPLETE.search(run.stdout)
    return DestroyReport(
        env=workspace.env, destroyed=int(counts.group(1)) if counts else 0, removed_profile=removed
    )


def check_destroy_confirmed(settings: Settings, *, confirmed: bool, production_confirmed: bool) -> Workspace:
    """The environment's workspace, once destroying it is confirmed (and, for production, twice)."""
    workspace = resolve_workspace(settings)
    require_confirmed(
        confirmed, f"`paysim infra down` destroys every resource of {workspace.env}", "add --yes to confirm"
    )
    require_production_confirmed(
        workspace.env,
        protected=workspace.protected,
        confirmed=production_confirmed,
        refusal="--yes alone does not destroy it",
        flag="--destroy-production",
        meaning="delete production",
    )
    return workspace


def write_connection_profile(settings: Settings) -> ProfileReport:
    """Write the environment's endpoints and names where `paysim --env ENV` reads them."""
    workspace = resolve_workspace(settings)
    run = run_terraform(workspace, "output", json=True)
    profile = connection_profile(workspace.env, orjson.loads(run.stdout or "{}"))
    write_profile(workspace.profile_path, profile)
    return ProfileReport(env=workspace.env, path=workspace.profile_path, profile=profile)


def _fresh_record(workspace: Workspace) -> PlanRecord:
    if not (workspace.plan_path.is_file() and workspace.plan_record_path.is_file()):
        raise PaysimError(
            "no_saved_plan",
            f"there is no saved plan for {workspace.env}",
            f"run `paysim infra plan --env {workspace.env}` first, and review it",
            exit_code=ExitCode.CONFLICT,
        )
    try:
        record = PlanRecord.model_validate_json(workspace.plan_record_path.read_bytes())
    except ValidationError as error:
        raise stale_plan_error(workspace.env, "its record is unreadable") from error
    if record.root != str(workspace.root):
        raise stale_plan_error(workspace.env, f"it was made from another root ({record.root})")
    if record.configuration_digest != configuration_digest(workspace):
        raise stale_plan_error(workspace.env, "the Terraform configuration changed since the plan was made")
    return record


def _forget_plan(workspace: Workspace) -> None:
    for path in (workspace.plan_path, workspace.plan_record_path):
        path.unlink(missing_ok=True)

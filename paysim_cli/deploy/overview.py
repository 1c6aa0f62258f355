"""`paysim function releases` and `paysim function status`: what is stored, what is live, what drifted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from paysim_cli.deploy.appsettings import SettingsDiff, diff_settings, load_release_settings, release_part
from paysim_cli.deploy.history import Outcome
from paysim_cli.deploy.service import settings_file
from paysim_cli.deploy.store import release_store
from paysim_cli.deploy.targets import deploy_target
from paysim_cli.errors import PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


class ReleaseRow(BaseModel):
    version: str
    commit: str | None
    built_at: datetime
    remote_build: bool
    functions: list[str]
    deployed_at: datetime | None
    deployed_by: str | None
    outcome: Outcome | None  # of its latest deploy or rollback; None: stored, never deployed
    active: bool


class ReleasesReport(BaseModel):
    env: str
    store: str
    active: str | None
    releases: list[ReleaseRow]  # newest deploy first, then never-deployed by build date


def list_releases(settings: Settings) -> ReleasesReport:
    store = release_store(settings)
    history = store.history()
    rows = []
    for manifest in store.manifests():
        record = history.latest_for(manifest.version)
        rows.append(
            ReleaseRow(
                version=manifest.version,
                commit=manifest.commit,
                built_at=manifest.built_at,
                remote_build=manifest.remote_build,
                functions=manifest.function_names(),
                deployed_at=None if record is None else record.started_at,
                deployed_by=None if record is None else record.by,
                outcome=None if record is None else record.outcome,
                active=manifest.version == history.active,
            )
        )
    rows.sort(
        key=lambda row: (row.deployed_at or datetime.min.replace(tzinfo=row.built_at.tzinfo), row.built_at)
    )
    rows.reverse()
    return ReleasesReport(env=settings.env, store=store.location, active=history.active, releases=rows)


class HostStatus(BaseModel):
    state: str  # in words: "3 workers run release X", "Running, host Running"
    functions: list[str]
    details: dict[str, Any]


class StatusReport(BaseModel):
    env: str
    target: str
    active: str | None
    active_since: datetime | None
    host: HostStatus | None
    host_error: str | None = None
    drift: SettingsDiff  # the app's release settings against those deployed with the active release
    pending: SettingsDiff  # the settings file against the app: what `settings apply` would change


def function_status(
    settings: Settings, function_dir: Path | None = None, *, credential: TokenCredential | None = None
) -> StatusReport:
    store = release_store(settings)
    history = store.history()
    target = deploy_target(settings, credential)
    current = target.app_settings()
    record = None if history.active is None else history.latest_for(history.active)
    source = settings_file(settings, function_dir)
    host, host_error = None, None
    try:
        host = _host(settings, credential)
    except PaysimError as error:
        host_error = error.message
    return StatusReport(
        env=settings.env,
        target=target.name,
        active=history.active,
        active_since=None if record is None else record.finished_at,
        host=host,
        host_error=host_error,
        drift=diff_settings(history.active_settings, release_part(current), "the app now"),
        pending=diff_settings(current, load_release_settings(source), str(source)),
    )


def _host(settings: Settings, credential: TokenCredential | None) -> HostStatus:
    if settings.is_local:
        from paysim_cli.pipeline.release import describe, read_active, running_workers

        workers = running_workers(settings.state_dir)
        running = sorted({worker.release or "the working tree" for worker in workers})
        would_run = describe(read_active(settings.state_dir))
        state = (
            f"{len(workers)} pipeline workers run {', '.join(running)}"
            if workers
            else f"no pipeline worker runs (`paysim pipeline run` would run {would_run})"
        )
        functions: set[str] = set()
        for worker in workers:
            functions |= _functions_in(worker.function_dir)
        return HostStatus(
            state=state,
            functions=sorted(functions),
            details={"workers": [worker.model_dump(mode="json") for worker in workers]},
        )
    from paysim_cli.health.checks.arm import read_function_app

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    app = read_function_app(settings, credential)
    return HostStatus(
        state=f"{app.state}, host {app.host_state}",
        functions=sorted(app.functions),
        details={
            "availability": app.availability,
            "host_version": app.host_version,
            "host_errors": app.host_errors,
            "disabled": sorted(name for name, enabled in app.functions.items() if not enabled),
        },
    )


def _functions_in(function_dir: Path) -> set[str]:
    """The functions a worker's code registers, from the release's manifest (the working tree has none)."""
    from paysim_cli.deploy.manifest import MANIFEST_NAME, ReleaseManifest

    manifest = function_dir / MANIFEST_NAME
    if not manifest.exists():
        return set()
    return set(ReleaseManifest.model_validate_json(manifest.read_bytes()).function_names())

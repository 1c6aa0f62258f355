"""`paysim function deploy | rollback | releases | status | settings` as services.

A deploy stores the release, applies it with its settings, and watches the gate. When the deploy, the
function check or the gate fails after something was changed, the previous good release is deployed
again with the settings it ran with, and the deploy ends as `RolledBack` (exit 12): an environment
is never left on a half-applied release.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from paysim_cli.deploy.appsettings import (
    SettingsDiff,
    diff_settings,
    load_release_settings,
    release_part,
    settings_path,
)
from paysim_cli.deploy.gate import GateReport, GateRequest, run_gate
from paysim_cli.deploy.history import Action, DeploymentRecord, Outcome, ReleaseHistory, deployer_identity
from paysim_cli.deploy.manifest import ReleaseManifest, read_manifest
from paysim_cli.deploy.package import PackageRequest, build_package, file_sha256, verify_package
from paysim_cli.deploy.store import ReleaseStore, release_store
from paysim_cli.deploy.targets import DeployTarget, deploy_target
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.output import to_jsonable
from paysim_cli.pipeline.loader import DEFAULT_FUNCTION_DIR
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

Status = Callable[[str], None]
Confirm = Callable[[ReleaseManifest | None, SettingsDiff], None]


class DeployRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    package: Path | None = None  # a built zip; else one is built from function_dir
    function_dir: Path | None = None  # the app, and its settings/<env>.json
    remote_build: bool = False
    gate: bool = True
    gate_request: GateRequest = GateRequest()
    poll_seconds: float = Field(2.0, gt=0, le=60)
    deploy_timeout_seconds: float = Field(900.0, gt=0)
    functions_timeout_seconds: float = Field(180.0, gt=0)


class DeployReport(BaseModel):
    env: str
    target: str
    version: str
    commit: str | None
    deployment_id: str
    outcome: Outcome
    package: Path
    package_sha256: str
    settings: SettingsDiff
    gate: GateReport | None
    previous: str | None  # the release active before
    rolled_back_to: str | None = None
    reason: str | None = None  # why it failed
    rollback_error: str | None = None
    duration_seconds: float = 0.0


class RolledBack(PaysimError):
    """The deploy failed and the previous release runs again: exit 12, with the report."""

    def __init__(self, report: DeployReport) -> None:
        back_to = report.rolled_back_to or "the working tree's function/"
        super().__init__(
            "rolled_back",
            f"release {report.version} failed ({report.reason}); rolled back to {back_to}",
            "fix the release and deploy again; `paysim function releases` shows the history",
            exit_code=ExitCode.ROLLED_BACK,
        )
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "report": to_jsonable(self.report)}


class DeployFailed(PaysimError):
    """The deploy failed and could not be rolled back: exit 1, with the report, loudly."""

    def __init__(self, code: str, message: str, hint: str, report: DeployReport) -> None:
        super().__init__(code, message, hint, exit_code=ExitCode.FAILURE)
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "report": to_jsonable(self.report)}


def settings_file(settings: Settings, function_dir: Path | None) -> Path:
    return settings_path(function_dir or DEFAULT_FUNCTION_DIR, settings.env)


def _target(settings: Settings, request: DeployRequest, credential: TokenCredential | None) -> DeployTarget:
    return deploy_target(
        settings,
        credential,
        poll_seconds=request.poll_seconds,
        deploy_timeout=request.deploy_timeout_seconds,
        functions_timeout=request.functions_timeout_seconds,
    )


def _package(
    settings: Settings, request: DeployRequest, scratch: Path, on_status: Status
) -> tuple[Path, ReleaseManifest]:
    if request.package is not None:
        manifest = verify_package(request.package)
        on_status(f"package {request.package.name}: release {manifest.version}, checked")
        return request.package, manifest
    on_status("building the package")
    built = build_package(
        settings,
        PackageRequest(
            function_dir=request.function_dir, output_dir=scratch, remote_build=request.remote_build
        ),
    )
    on_status(f"built release {built.version} ({built.bytes:,} bytes) in {built.build_seconds:g} s")
    return built.path, built.manifest


def deploy(
    settings: Settings,
    request: DeployRequest,
    *,
    on_status: Status,
    confirm: Confirm,
    credential: TokenCredential | None = None,
) -> DeployReport:
    """Store, apply and gate one release; roll back by itself when it fails (raises RolledBack)."""
    started = time.monotonic()
    store = release_store(settings)
    target = _target(settings, request, credential)
    with store.locked(), tempfile.TemporaryDirectory(prefix="paysim-deploy-") as scratch:
        package, manifest = _package(settings, request, Path(scratch), on_status)
        source = settings_file(settings, request.function_dir)
        release_settings = load_release_settings(source)
        diff = diff_settings(target.app_settings(), release_settings, str(source))
        confirm(manifest, diff)
        store.put(package, manifest)
        on_status(f"stored release {manifest.version} in {store.location}")
        history = store.history()
        previous, previous_settings = history.active, dict(history.active_settings)
        before = release_part(target.app_settings())
        record = history.record(
            DeploymentRecord(
                action=Action.DEPLOY,
                version=manifest.version,
                commit=manifest.commit,
                by=deployer_identity(),
                settings=release_settings,
            )
        )
        store.save_history(history)
        report = DeployReport(
            env=settings.env,
            target=target.name,
            version=manifest.version,
            commit=manifest.commit,
            deployment_id=record.id,
            outcome=Outcome.IN_PROGRESS,
            package=package if request.package is not None else Path(package.name),
            package_sha256=file_sha256(package),
            settings=diff,
            gate=None,
            previous=previous,
        )
        changed = False

        def on_change() -> None:
            nonlocal changed
            changed = True

        try:
            target.deploy(
                package,
                manifest,
                release_settings,
                deployment_id=record.id,
                on_status=on_status,
                on_change=on_change,
            )
            if request.gate:
                report.gate = run_gate(
                    settings,
                    target,
                    manifest.version,
                    request.gate_request,
                    on_status=on_status,
                    credential=credential,
                )
                if not report.gate.passed:
                    raise PaysimError("gate_failed", f"the health gate failed: {report.gate.reason}")
        except (PaysimError, KeyboardInterrupt) as failure:
            reason = failure.message if isinstance(failure, PaysimError) else "interrupted"
            report.reason, report.duration_seconds = reason, round(time.monotonic() - started, 2)
            if isinstance(failure, PaysimError) and not changed:
                _finish(store, history, record, Outcome.FAILED, reason=reason)
                raise  # nothing was changed: nothing to roll back
            _roll_back(
                settings,
                store,
                target,
                history,
                record,
                report,
                previous,
                previous_settings,
                before,
                Path(scratch),
                request,
                on_status,
            )
        _finish(store, history, record, Outcome.DEPLOYED)
        history.active, history.active_settings = manifest.version, dict(release_settings)
        store.save_history(history)
        report.outcome = Outcome.DEPLOYED
        report.duration_seconds = round(time.monotonic() - started, 2)
        return report


def _finish(
    store: ReleaseStore,
    history: ReleaseHistory,
    record: DeploymentRecord,
    outcome: Outcome,
    *,
    reason: str | None = None,
    rolled_back_to: str | None = None,
) -> None:
    record.outcome, record.reason, record.rolled_back_to = outcome, reason, rolled_back_to
    record.finished_at = datetime.now(UTC)
    store.save_history(history)


def _roll_back(
    settings: Settings,
    store: ReleaseStore,
    target: DeployTarget,
    history: ReleaseHistory,
    record: DeploymentRecord,
    report: DeployReport,
    previous: str | None,
    previous_settings: dict[str, str],
    settings_before: dict[str, str],
    scratch: Path,
    request: DeployRequest,
    on_status: Status,
) -> None:
    """Put the environment back as it was before the deploy, and raise what happened."""
    what = f"release {previous}" if previous else "the state before the deploy"
    on_status(f"release {report.version} failed: {report.reason}; rolling back to {what}")
    rollback = history.record(
        DeploymentRecord(
            action=Action.ROLLBACK,
            version=previous,
            by=deployer_identity(),
            settings=previous_settings if previous else settings_before,
            automatic=True,
        )
    )
    try:
        if previous is not None:
            package = store.fetch(previous, scratch)
            manifest = read_manifest(package)
            rollback.commit = manifest.commit
            target.deploy(
                package,
                manifest,
                previous_settings,
                deployment_id=rollback.id,
                on_status=on_status,
                on_change=lambda: None,
            )
        elif target.restores_without_release:
            target.deploy_nothing(on_status)
        else:
            target.apply_settings(settings_before, on_status)
            raise PaysimError(
                "no_release_to_roll_back_to",
                f"there is no earlier release to roll back to: {target.name} runs the failed release "
                f"{report.version}, with the release settings it had before",
                "fix the release and deploy again",
            )
        if target.has_host():
            target.wait_running(previous, request.gate_request.start_timeout_seconds, on_status)
    except PaysimError as error:
        report.rollback_error = error.message
        report.outcome = Outcome.FAILED
        _finish(store, history, rollback, Outcome.FAILED, reason=error.message)
        _finish(store, history, record, Outcome.FAILED, reason=report.reason)
        code = error.code if error.code == "no_release_to_roll_back_to" else "rollback_failed"
        raise DeployFailed(
            code,
            f"release {report.version} failed ({report.reason}), and the rollback failed too: {error.message}"
            if code == "rollback_failed"
            else error.message,
            "`paysim function status` shows what runs now; `paysim function rollback --to VERSION` retries",
            report,
        ) from error
    _finish(store, history, rollback, Outcome.DEPLOYED)
    _finish(store, history, record, Outcome.ROLLED_BACK, reason=report.reason, rolled_back_to=previous)
    history.active, history.active_settings = previous, dict(previous_settings) if previous else {}
    store.save_history(history)
    report.outcome, report.rolled_back_to = Outcome.ROLLED_BACK, previous
    raise RolledBack(report)


class RollbackReport(BaseModel):
    env: str
    target: str
    version: str
    previous: str | None
    deployment_id: str
    settings: SettingsDiff
    running_after_seconds: float | None  # None: no host was running to switch
    duration_seconds: float


def rollback(
    settings: Settings,
    to: str | None,
    *,
    on_status: Status,
    confirm: Confirm,
    request: DeployRequest | None = None,
    credential: TokenCredential | None = None,
) -> RollbackReport:
    """Deploy a stored release again (by default the one live before the active one), with the settings
    it ran with, and wait until the host runs it."""
    request = request or DeployRequest()
    started = time.monotonic()
    store = release_store(settings)
    target = _target(settings, request, credential)
    with store.locked(), tempfile.TemporaryDirectory(prefix="paysim-rollback-") as scratch:
        history = store.history()
        version = to or history.previous_good(history.active)
        if version is None:
            raise PaysimError(
                "no_release_to_roll_back_to",
                f"the {settings.env} history has no release before {history.active or 'the active one'}",
                "`paysim function releases` lists the stored releases; pass --to VERSION",
                exit_code=ExitCode.CONFLICT,
            )
        package = store.fetch(version, Path(scratch))
        manifest = read_manifest(package)
        release_settings = history.settings_of(version)
        diff = diff_settings(target.app_settings(), release_settings, f"release {version}")
        confirm(manifest, diff)
        record = history.record(
            DeploymentRecord(
                action=Action.ROLLBACK,
                version=version,
                commit=manifest.commit,
                by=deployer_identity(),
                settings=release_settings,
            )
        )
        store.save_history(history)
        previous = history.active
        try:
            target.deploy(
                package,
                manifest,
                release_settings,
                deployment_id=record.id,
                on_status=on_status,
                on_change=lambda: None,
            )
            running = (
                target.wait_running(version, request.gate_request.start_timeout_seconds, on_status)
                if target.has_host()
                else None
            )
        except PaysimError as error:
            _finish(store, history, record, Outcome.FAILED, reason=error.message)
            raise
        _finish(store, history, record, Outcome.DEPLOYED)
        history.active, history.active_settings = version, dict(release_settings)
        store.save_history(history)
        return RollbackReport(
            env=settings.env,
            target=target.name,
            version=version,
            previous=previous,
            deployment_id=record.id,
            settings=diff,
            running_after_seconds=None if running is None else round(running, 2),
            duration_seconds=round(time.monotonic() - started, 2),
        )


def settings_diff(
    settings: Settings, function_dir: Path | None = None, *, credential: TokenCredential | None = None
) -> SettingsDiff:
    """What applying the environment's settings file would change in the app."""
    source = settings_file(settings, function_dir)
    release_settings = load_release_settings(source)
    target = deploy_target(settings, credential)
    return diff_settings(target.app_settings(), release_settings, str(source))


def apply_settings(
    settings: Settings,
    function_dir: Path | None = None,
    *,
    on_status: Status,
    confirm: Confirm,
    credential: TokenCredential | None = None,
) -> SettingsDiff:
    """Apply the settings file to the app as it runs (the active release keeps running), and record it."""
    source = settings_file(settings, function_dir)
    release_settings = load_release_settings(source)
    store = release_store(settings)
    target = deploy_target(settings, credential)
    with store.locked():
        diff = diff_settings(target.app_settings(), release_settings, str(source))
        if diff.empty:
            on_status("the release settings are already applied: nothing to do")
            return diff
        confirm(None, diff)
        history = store.history()
        record = history.record(
            DeploymentRecord(
                action=Action.SETTINGS,
                version=history.active,
                by=deployer_identity(),
                settings=release_settings,
            )
        )
        try:
            target.apply_settings(release_settings, on_status)
        except PaysimError as error:
            _finish(store, history, record, Outcome.FAILED, reason=error.message)
            raise
        record.outcome, record.finished_at = Outcome.DEPLOYED, datetime.now(UTC)
        history.active_settings = dict(release_settings)
        store.save_history(history)
        return diff

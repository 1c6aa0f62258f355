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
from typing import TYPE_CHECKING

from pydantic import BaseModel

from paysim_cli.confirmation import require_production_confirmed
from paysim_cli.deploy.appsettings import (
    SettingsDiff,
    diff_settings,
    load_release_settings,
    release_part,
    settings_path,
)
from paysim_cli.deploy.gate import GateReport, run_gate
from paysim_cli.deploy.history import Action, DeploymentRecord, Outcome, ReleaseHistory, deployer_identity
from paysim_cli.deploy.manifest import ReleaseManifest, read_manifest
from paysim_cli.deploy.package import PackageRequest, build_package, file_sha256, verify_package
from paysim_cli.deploy.request import DeployRequest
from paysim_cli.deploy.store import ReleaseStore, release_store
from paysim_cli.deploy.targets import DeployTarget, deploy_target
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.pipeline.loader import DEFAULT_FUNCTION_DIR
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

Status = Callable[[str], None]
Confirm = Callable[[ReleaseManifest | None, SettingsDiff], None]


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
    rollback_seconds: float | None = None  # from the failure until the previous release ran again
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
            report=report,  # in --json mode, inside the error document
        )
        self.deploy_report = report


class DeployFailed(PaysimError):
    """The deploy failed and could not be rolled back: exit 1, with the report, loudly."""

    def __init__(self, code: str, message: str, hint: str, report: DeployReport) -> None:
        super().__init__(code, message, hint, exit_code=ExitCode.FAILURE, report=report)
        self.deploy_report = report


def check_production(settings: Settings, *, confirmed: bool, flag: str) -> None:
    """A protected environment (production) changes only with its verb's second flag as well."""
    require_production_confirmed(
        settings.env,
        protected=settings.is_protected,
        confirmed=confirmed,
        refusal="`paysim function` changes it only when asked twice",
        flag=f"{flag} (with --yes)",
        meaning=f"change {settings.env}",
    )


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
    check_production(settings, confirmed=request.production_confirmed, flag="--deploy-production")
    started = time.monotonic()
    store = release_store(settings)
    target = _target(settings, request, credential)
    with store.locked(), tempfile.TemporaryDirectory(prefix="paysim-deploy-") as scratch:
        package, manifest = _package(settings, request, Path(scratch), on_status)
        source = settings_file(settings, request.function_dir)
        release_settings = load_release_settings(source)
        current = target.app_settings()
        diff = diff_settings(current, release_settings, str(source))
        confirm(manifest, diff)
        if request.gate and not target.has_host():
            raise PaysimError(
                "no_host_to_gate",
                f"the gate watches the running pipeline, and no host runs on {target.name}",
                "start `paysim pipeline run` (with this state directory), or deploy with --no-gate",
                exit_code=ExitCode.UNAVAILABLE,
            )
        store.put(package, manifest)
        on_status(f"stored release {manifest.version} in {store.location}")
        attempt = _Attempt(settings, request, store, target, Path(scratch), on_status, credential)
        attempt.begin(package, manifest, release_settings, diff, release_part(current))
        try:
            attempt.apply_and_gate(package, manifest, release_settings)
        except (PaysimError, KeyboardInterrupt) as failure:
            attempt.report.duration_seconds = round(time.monotonic() - started, 2)
            attempt.failed(failure)  # raises: the failure itself, RolledBack or DeployFailed
        attempt.succeeded(manifest, release_settings)
        attempt.report.duration_seconds = round(time.monotonic() - started, 2)
        return attempt.report


class _Attempt:
    """One deploy: its history record and report, what it changed, and how to undo it."""

    def __init__(
        self,
        settings: Settings,
        request: DeployRequest,
        store: ReleaseStore,
        target: DeployTarget,
        scratch: Path,
        on_status: Status,
        credential: TokenCredential | None,
    ) -> None:
        self.settings, self.request, self.store, self.target = settings, request, store, target
        self.scratch, self.on_status, self.credential = scratch, on_status, credential
        self.changed = False

    def begin(
        self,
        package: Path,
        manifest: ReleaseManifest,
        release_settings: dict[str, str],
        diff: SettingsDiff,
        settings_before: dict[str, str],
    ) -> None:
        """Record the deploy as in progress, with what the environment runs now (to go back to)."""
        self.history = self.store.history()
        self.previous, self.previous_settings = self.history.active, dict(self.history.active_settings)
        self.settings_before = settings_before
        self.record = self.history.record(
            DeploymentRecord(
                action=Action.DEPLOY,
                version=manifest.version,
                commit=manifest.commit,
                by=deployer_identity(),
                settings=release_settings,
            )
        )
        self.store.save_history(self.history)
        self.report = DeployReport(
            env=self.settings.env,
            target=self.target.name,
            version=manifest.version,
            commit=manifest.commit,
            deployment_id=self.record.id,
            outcome=Outcome.IN_PROGRESS,
            package=package if self.request.package is not None else Path(package.name),
            package_sha256=file_sha256(package),
            settings=diff,
            gate=None,
            previous=self.previous,
        )

    def _mark_changed(self) -> None:
        self.changed = True

    def apply_and_gate(
        self, package: Path, manifest: ReleaseManifest, release_settings: dict[str, str]
    ) -> None:
        self.target.deploy(
            package,
            manifest,
            release_settings,
            deployment_id=self.record.id,
            on_status=self.on_status,
            on_change=self._mark_changed,
        )
        if not self.request.gate:
            return
        gate = run_gate(
            self.settings,
            self.target,
            manifest.version,
            self.request.gate_request,
            on_status=self.on_status,
            credential=self.credential,
        )
        self.report.gate = gate
        if not gate.passed:
            raise PaysimError("gate_failed", f"the health gate failed: {gate.reason}")

    def succeeded(self, manifest: ReleaseManifest, release_settings: dict[str, str]) -> None:
        self._finish(self.record, Outcome.DEPLOYED)
        self.history.active, self.history.active_settings = manifest.version, dict(release_settings)
        self.store.save_history(self.history)
        self.report.outcome = Outcome.DEPLOYED

    def failed(self, failure: PaysimError | KeyboardInterrupt) -> None:
        """Nothing changed: record it and re-raise. Else put the environment back and raise that."""
        self.report.reason = failure.message if isinstance(failure, PaysimError) else "interrupted"
        if isinstance(failure, PaysimError) and not self.changed:
            self._finish(self.record, Outcome.FAILED, reason=self.report.reason)
            raise failure
        self._roll_back()

    def _finish(
        self,
        record: DeploymentRecord,
        outcome: Outcome,
        *,
        reason: str | None = None,
        back_to: str | None = None,
    ) -> None:
        _finish(self.store, self.history, record, outcome, reason=reason, rolled_back_to=back_to)

    def _roll_back(self) -> None:
        """Deploy what ran before (or restore its settings), wait for the host, and raise what happened."""
        previous, report = self.previous, self.report
        started = time.monotonic()
        what = f"release {previous}" if previous else "the state before the deploy"
        self.on_status(f"release {report.version} failed: {report.reason}; rolling back to {what}")
        rollback = self.history.record(
            DeploymentRecord(
                action=Action.ROLLBACK,
                version=previous,
                by=deployer_identity(),
                settings=self.previous_settings if previous else self.settings_before,
                automatic=True,
            )
        )
        try:
            self._restore(rollback)
        except PaysimError as error:
            report.rollback_seconds = round(time.monotonic() - started, 2)
            report.rollback_error, report.outcome = error.message, Outcome.FAILED
            self._finish(rollback, Outcome.FAILED, reason=error.message)
            self._finish(self.record, Outcome.FAILED, reason=report.reason)
            raise _not_rolled_back(report, error) from error
        report.rollback_seconds = round(time.monotonic() - started, 2)
        self._finish(rollback, Outcome.DEPLOYED)
        self._finish(self.record, Outcome.ROLLED_BACK, reason=report.reason, back_to=previous)
        self.history.active = previous
        self.history.active_settings = dict(self.previous_settings) if previous else {}
        self.store.save_history(self.history)
        report.outcome, report.rolled_back_to = Outcome.ROLLED_BACK, previous
        raise RolledBack(report)

    def _restore(self, rollback: DeploymentRecord) -> None:
        target, previous = self.target, self.previous
        if previous is not None:
            package = self.store.fetch(previous, self.scratch)
            manifest = read_manifest(package)
            rollback.commit = manifest.commit
            args = (package, manifest, self.previous_settings, rollback.id, self.request, self.on_status)
            _redeploy(target, *args)
            return
        if not target.restores_without_release:
            target.apply_settings(self.settings_before, self.on_status)
            raise PaysimError(
                "no_release_to_roll_back_to",
                f"there is no earlier release to roll back to: {target.name} runs the failed release "
                f"{self.report.version}, with the release settings it had before",
                "fix the release and deploy again",
            )
        target.deploy_nothing(self.on_status)
        if target.has_host():
            target.wait_running(None, self.request.gate_request.start_timeout_seconds, self.on_status)


def _not_rolled_back(report: DeployReport, error: PaysimError) -> DeployFailed:
    hint = "`paysim function status` shows what runs now; `paysim function rollback --to VERSION` retries"
    if error.code == "no_release_to_roll_back_to":
        return DeployFailed(error.code, error.message, hint, report)
    return DeployFailed(
        "rollback_failed",
        f"release {report.version} failed ({report.reason}), and the rollback failed too: {error.message}",
        hint,
        report,
    )


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
    production_confirmed: bool = False,
    request: DeployRequest | None = None,
    credential: TokenCredential | None = None,
) -> RollbackReport:
    """Deploy a stored release again (by default the one live before the active one), with the settings
    it ran with, and wait until the host runs it."""
    check_production(settings, confirmed=production_confirmed, flag="--rollback-production")
    request = request or DeployRequest()
    started = time.monotonic()
    store = release_store(settings)
    target = _target(settings, request, credential)
    with store.locked(), tempfile.TemporaryDirectory(prefix="paysim-rollback-") as scratch:
        history = store.history()
        version = _rollback_version(settings, history, to)
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
            running = _redeploy(target, package, manifest, release_settings, record.id, request, on_status)
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


def _rollback_version(settings: Settings, history: ReleaseHistory, to: str | None) -> str:
    version = to or history.previous_good(history.active)
    if version is None:
        raise PaysimError(
            "no_release_to_roll_back_to",
            f"the {settings.env} history has no release before {history.active or 'the active one'}",
            "`paysim function releases` lists the stored releases; pass --to VERSION",
            exit_code=ExitCode.CONFLICT,
        )
    return version


def _redeploy(
    target: DeployTarget,
    package: Path,
    manifest: ReleaseManifest,
    release_settings: dict[str, str],
    deployment_id: str,
    request: DeployRequest,
    on_status: Status,
) -> float | None:
    """Deploy a stored release as it was and wait for the host to run it: the seconds that took, or
    None when no host runs (the next one starts on it)."""
    target.deploy(
        package,
        manifest,
        release_settings,
        deployment_id=deployment_id,
        on_status=on_status,
        on_change=lambda: None,
    )
    if not target.has_host():
        return None
    return target.wait_running(manifest.version, request.gate_request.start_timeout_seconds, on_status)


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
    production_confirmed: bool = False,
    credential: TokenCredential | None = None,
) -> SettingsDiff:
    """Apply the settings file to the app as it runs (the active release keeps running), and record it."""
    check_production(settings, confirmed=production_confirmed, flag="--apply-production")
    source = settings_file(settings, function_dir)
    release_settings = load_release_settings(source)
    store = release_store(settings)
    target = deploy_target(settings, credential)
    with store.locked():
        target.require_release()
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
        history.active_settings = dict(release_settings)
        _finish(store, history, record, Outcome.DEPLOYED)
        return diff

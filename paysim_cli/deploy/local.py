"""The local environment as a deployment target: releases installed into the state directory and the
active pointer switched atomically; `paysim pipeline run` workers follow it (pipeline/release.py)."""

from __future__ import annotations

import shutil
import time
import zipfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from paysim_cli.deploy.manifest import MANIFEST_NAME, ReleaseManifest
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.pipeline.release import (
    ActiveRelease,
    WorkerRelease,
    read_active,
    release_dir,
    running_workers,
    write_active,
)
from paysim_cli.settings import Settings

POLL_SECONDS = 0.2


class LocalTarget:
    """`.paysim/function/releases/VERSION/` and the `function/active` pointer."""

    restores_without_release = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir
        self.name = f"the local host ({self.state_dir})"

    def has_host(self) -> bool:
        """Whether any `paysim pipeline run` worker runs (a rollback waits for it to switch only then)."""
        return bool(running_workers(self.state_dir))

    def app_settings(self) -> dict[str, str]:
        """The release settings the active release runs with (the local app has no others)."""
        active = read_active(self.state_dir)
        return {} if active is None else dict(active.settings)

    def active_version(self) -> str | None:
        active = read_active(self.state_dir)
        return None if active is None else active.version

    def deploy(
        self,
        package: Path,
        manifest: ReleaseManifest,
        release_settings: Mapping[str, str],
        *,
        deployment_id: str,
        on_status: Callable[[str], None],
        on_change: Callable[[], None],
    ) -> None:
        """Install the release (once) and point the host at it, with its settings, in one rename."""
        directory = install_release(self.state_dir, package, manifest)
        on_status(f"installed release {manifest.version} in {directory}")
        on_change()
        write_active(
            self.state_dir,
            ActiveRelease(
                version=manifest.version,
                settings=dict(release_settings),
                activated_at=datetime.now(UTC),
                deployment_id=deployment_id,
            ),
        )
        on_status(f"the active pointer now names release {manifest.version}")

    def require_release(self) -> None:
        """Settings belong to a release: with none deployed, there is nothing to apply them to."""
        if read_active(self.state_dir) is None:
            raise _no_release()

    def apply_settings(self, release_settings: Mapping[str, str], on_status: Callable[[str], None]) -> None:
        """New settings for the active release: the pointer is switched to the same release with them."""
        active = read_active(self.state_dir)
        if active is None:
            raise _no_release()
        write_active(
            self.state_dir,
            active.model_copy(update={"settings": dict(release_settings), "activated_at": datetime.now(UTC)}),
        )
        on_status(f"release {active.version} now runs with the new settings")

    def release_settings(self) -> dict[str, str]:
        return self.app_settings()

    def deploy_nothing(self, on_status: Callable[[str], None]) -> None:
        """No release at all: the host runs the working tree's function/ again."""
        write_active(self.state_dir, None)
        on_status("the active pointer is removed: the host runs the working tree's function/")

    def wait_running(self, version: str | None, timeout: float, on_status: Callable[[str], None]) -> float:
        """Wait until every live worker runs `version`; the seconds it took. A release that failed to load
        in a worker, or no worker at all, fails."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            workers = running_workers(self.state_dir)
            fixed = [worker for worker in workers if not worker.follows]
            if fixed:
                raise PaysimError(
                    "release_not_running",
                    f"pipeline worker {fixed[0].worker} runs {fixed[0].function_dir} as it is "
                    "(--development or --function-dir): it never switches to a deployed release",
                    "restart `paysim pipeline run` without --development and --function-dir",
                    exit_code=ExitCode.FAILURE,
                )
            broken = [
                worker for worker in workers if worker.failed_release == version and version is not None
            ]
            if broken:
                raise PaysimError(
                    "release_load_failed",
                    f"pipeline worker {broken[0].worker} could not load release {version}: "
                    f"{broken[0].load_error}",
                    "the worker kept the previous code; fix the release",
                    exit_code=ExitCode.FAILURE,
                )
            if workers and all(worker.release == version for worker in workers):
                return time.monotonic() - started
            if time.monotonic() >= deadline:
                raise PaysimError(
                    "release_not_running",
                    _not_running(version, workers, timeout),
                    "is `paysim pipeline run` running with this state directory (and without "
                    "--development or --function-dir)? deploy with --no-gate when no host runs",
                    exit_code=ExitCode.FAILURE,
                )
            time.sleep(POLL_SECONDS)

    def invocations(self, version: str | None) -> tuple[int, int, str | None]:
        """(invocations, failed invocations, last error) of the live workers running `version`."""
        workers = [worker for worker in running_workers(self.state_dir) if worker.release == version]
        errors = [worker.last_error for worker in workers if worker.last_error]
        return (
            sum(worker.invocations for worker in workers),
            sum(worker.failed_invocations for worker in workers),
            errors[0] if errors else None,
        )

    def workers(self) -> list[WorkerRelease]:
        return running_workers(self.state_dir)


def _no_release() -> PaysimError:
    return PaysimError(
        "no_release_deployed",
        "no release is deployed locally, so there are no release settings to apply",
        "deploy one first: `paysim function deploy --env local` (it applies the settings file too)",
        exit_code=ExitCode.CONFLICT,
    )


def _not_running(version: str | None, workers: list[WorkerRelease], timeout: float) -> str:
    what = "the working tree" if version is None else f"release {version}"
    if not workers:
        return f"no pipeline worker is running to pick up {what} (waited {timeout:g} s)"
    others = sorted(
        {str(worker.release or "the working tree") for worker in workers if worker.release != version}
    )
    return f"after {timeout:g} s, pipeline workers still run {', '.join(others)} instead of {what}"


def install_release(state_dir: Path, package: Path, manifest: ReleaseManifest) -> Path:
    """Extract the package into `function/releases/VERSION/` (atomically: a rename); kept if present."""
    directory = release_dir(state_dir, manifest.version)
    if (directory / MANIFEST_NAME).exists():
        return directory
    partial = directory.with_name(f".{manifest.version}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with zipfile.ZipFile(package) as archive:
        for member in archive.infolist():
            # Entries come from a manifest-checked package, but a name may still try to leave the tree.
            target = (partial / member.filename).resolve()
            if not target.is_relative_to(partial.resolve()):
                raise PaysimError(
                    "invalid_package",
                    f"{package}: entry {member.filename!r} points outside the release",
                    "rebuild it with `paysim function package`",
                    exit_code=ExitCode.CONFIG,
                )
        archive.extractall(partial)
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    return directory

"""The local Function host's releases: where they live in the state directory, which one is active,
and how a running worker follows the active pointer.

`paysim function deploy --env local` installs a release into `function/releases/VERSION/` and
switches `function/active` (a small JSON document, replaced atomically) to it with the release's
settings. A worker checks the pointer before every invocation; when it changed, it unloads the app
it runs and loads the new one, so the next batch (or the retry of a failing one) runs the new code.
Every worker publishes what it runs in `function/workers/PID.json`, which the deploy gate reads.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from paysim_cli.pipeline.loader import DEFAULT_FUNCTION_DIR, HostedFunction, load_function, unload_app

logger = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 0.1  # how often a worker looks at the pointer (a stat)
REPORT_INTERVAL_SECONDS = 0.5  # how often a worker rewrites its status file


class ActiveRelease(BaseModel):
    """The pointer's content: the release to run, with the release settings it was deployed with."""

    version: str
    settings: dict[str, str] = {}
    activated_at: datetime
    deployment_id: str | None = None


class WorkerRelease(BaseModel):
    """What one worker runs, and how the code has fared since it loaded it."""

    pid: int
    worker: int
    release: str | None  # None: the working tree's function/ (or --function-dir)
    function_dir: Path
    development: bool
    follows: bool = True  # switches with the pointer (False: --development or --function-dir)
    loaded_at: datetime
    updated_at: datetime
    events: int = 0  # delivered by this code since it was loaded
    invocations: int = 0
    failed_invocations: int = 0
    last_error: str | None = None
    # The active release could not be loaded: the worker kept the old code.
    failed_release: str | None = None
    load_error: str | None = None

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def function_root(state_dir: Path) -> Path:
    return state_dir / "function"


def releases_dir(state_dir: Path) -> Path:
    return function_root(state_dir) / "releases"


def release_dir(state_dir: Path, version: str) -> Path:
    return releases_dir(state_dir) / version


def pointer_path(state_dir: Path) -> Path:
    return function_root(state_dir) / "active"


def workers_dir(state_dir: Path) -> Path:
    return function_root(state_dir) / "workers"


def read_active(state_dir: Path) -> ActiveRelease | None:
    """The active release, or None when none is deployed (or the pointer is unreadable)."""
    try:
        return ActiveRelease.model_validate_json(pointer_path(state_dir).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as error:
        logger.warning("the active release pointer %s is unreadable: %s", pointer_path(state_dir), error)
        return None


def write_active(state_dir: Path, active: ActiveRelease | None) -> None:
    """Switch the pointer atomically (rename over it); None removes it: the working tree runs again."""
    pointer = pointer_path(state_dir)
    if active is None:
        pointer.unlink(missing_ok=True)
        return
    pointer.parent.mkdir(parents=True, exist_ok=True)
    partial = pointer.with_name(f".active.{os.getpid()}.partial")
    partial.write_text(active.model_dump_json(indent=2) + "\n", encoding="utf-8")
    partial.replace(pointer)


def running_workers(state_dir: Path) -> list[WorkerRelease]:
    """Every live worker's status; the files of dead workers are ignored (and removed)."""
    found = []
    for path in sorted(workers_dir(state_dir).glob("*.json")):
        try:
            status = WorkerRelease.model_validate_json(path.read_bytes())
        except (OSError, ValidationError):
            continue  # being replaced, or half written by a killed worker
        if status.alive():
            found.append(status)
        else:
            path.unlink(missing_ok=True)
    return found


def describe(
    active: ActiveRelease | None, *, development: bool = False, function_dir: Path | None = None
) -> str:
    """What `paysim pipeline run` hosts, in words."""
    if function_dir is not None:
        return f"the app in {function_dir}"
    if development:
        return f"the working tree's {DEFAULT_FUNCTION_DIR.name}/ (development mode)"
    if active is None:
        return f"the working tree's {DEFAULT_FUNCTION_DIR.name}/ (no release deployed)"
    return f"release {active.version}"


class ReleaseTracker:
    """A worker's current function: the active release's, switched between invocations.

    With `function_dir` or `development`, the worker runs that app (the working tree's) and never
    switches. Otherwise it runs the active release, or the working tree while none is deployed.
    """

    def __init__(
        self,
        state_dir: Path,
        function_name: str,
        *,
        worker: int,
        function_dir: Path | None = None,
        development: bool = False,
    ) -> None:
        self._state_dir, self._name, self._worker = state_dir, function_name, worker
        self._fixed_dir = function_dir or (DEFAULT_FUNCTION_DIR if development else None)
        self._development = development
        self._pointer = pointer_path(state_dir)
        self._pointer_key: tuple[int, int, int] | None = None
        self._checked_at = -1.0
        self._reported_at = -1.0
        self._settings: dict[str, str] = {}
        self._status_path = workers_dir(state_dir) / f"{os.getpid()}.json"
        self._function: HostedFunction | None = None
        self._status: WorkerRelease | None = None

    @property
    def status(self) -> WorkerRelease | None:
        return self._status

    def current(self) -> HostedFunction:
        """The function to invoke now; loads the active release first when the pointer has changed."""
        now = time.monotonic()
        if self._function is None:
            self._load(None if self._fixed_dir is not None else read_active(self._state_dir), first=True)
            self._pointer_key = self._key()
        elif self._fixed_dir is None and now - self._checked_at >= CHECK_INTERVAL_SECONDS:
            self._checked_at = now
            key = self._key()
            if key != self._pointer_key:
                self._pointer_key = key
                active = read_active(self._state_dir)
                version = None if active is None else active.version
                settings = {} if active is None else active.settings
                assert self._status is not None
                if (version, settings) != (self._status.release, self._settings):
                    self._load(active, first=False)
        assert self._function is not None
        if now - self._reported_at >= REPORT_INTERVAL_SECONDS:
            self._write_status()
        return self._function

    def record(self, events: int, error: str | None) -> None:
        """Count one invocation of the current code: delivered, or failed with `error`."""
        status = self._status
        if status is None:
            return
        status.invocations += 1
        if error is None:
            status.events += events
            return
        first_failure = status.failed_invocations == 0
        status.failed_invocations += 1
        status.last_error = error
        if first_failure:
            self._write_status()  # the gate acts on a failure at once, not at the next report

    def close(self) -> None:
        self._status_path.unlink(missing_ok=True)

    def _key(self) -> tuple[int, int, int] | None:
        try:
            stat = self._pointer.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _load(self, active: ActiveRelease | None, *, first: bool) -> None:
        """Load `active` (None: the working tree's app); a release that fails to load is reported and the
        old code kept, so a worker never stops consuming because of a bad pointer."""
        directory = self._fixed_dir or (
            DEFAULT_FUNCTION_DIR if active is None else release_dir(self._state_dir, active.version)
        )
        previous = self._function
        previous_dir = None if self._status is None else self._status.function_dir
        settings = {} if active is None else active.settings
        try:
            if previous_dir is not None:
                unload_app(previous_dir)
            _export(self._settings, settings)
            function = load_function(directory, self._name)
        except Exception as error:
            if first or previous is None or previous_dir is None:
                raise
            logger.error("release %s failed to load, still running the previous code: %s", directory, error)
            _export(settings, self._settings)
            unload_app(directory)
            self._function = load_function(previous_dir, self._name)
            assert self._status is not None
            self._status.failed_release = None if active is None else active.version
            self._status.load_error = f"{type(error).__name__}: {error}"
            self._write_status()
            return
        now = datetime.now(UTC)
        self._function, self._settings = function, settings
        self._status = WorkerRelease(
            pid=os.getpid(),
            worker=self._worker,
            release=None if active is None or self._fixed_dir is not None else active.version,
            function_dir=directory,
            development=self._development,
            follows=self._fixed_dir is None,
            loaded_at=now,
            updated_at=now,
        )
        if not first:
            logger.warning("now running %s", describe(active))
        self._write_status()

    def _write_status(self) -> None:
        status = self._status
        if status is None:
            return
        self._reported_at = time.monotonic()
        status.updated_at = datetime.now(UTC)
        self._status_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._status_path.with_suffix(".partial")
        partial.write_text(status.model_dump_json(), encoding="utf-8")
        partial.replace(self._status_path)


def _export(before: dict[str, str], after: dict[str, str]) -> None:
    """Release settings as the app reads them (environment variables): `after` replaces `before`."""
    for name in set(before) - set(after):
        os.environ.pop(name, None)
    os.environ.update(after)

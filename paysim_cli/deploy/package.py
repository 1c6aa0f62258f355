"""`paysim function package`: a deterministic, deployable zip of the Function app.

The zip holds `function/` minus what `.funcignore` excludes, the dependencies vendored for the
Functions runtime (or none with `remote_build`), and the release manifest. Entries are sorted, carry
one fixed timestamp and mode, and the manifest's dates come from the sources, so the same sources give
the same bytes; the version is a hash of the content (plus the git commit when there is one).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from paysim_cli.deploy.manifest import (
    MANIFEST_NAME,
    ManifestFunction,
    ReleaseManifest,
    TargetPlatform,
    read_manifest,
)
from paysim_cli.deploy.registration import SITE_PACKAGES, check_registration
from paysim_cli.deploy.vendor import requirements_sha256, vendor_dependencies
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.pipeline.loader import DEFAULT_FUNCTION_DIR, script_path
from paysim_cli.settings import Settings

FUNCIGNORE = ".funcignore"
REQUIREMENTS = "requirements.txt"
# Always rebuilt or never shipped, whatever .funcignore says.
_NEVER_SOURCES = (".python_packages/", MANIFEST_NAME)
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say
ZIP_MODE = 0o100644  # a regular file, rw-r--r--, read by the host on Linux
COMPRESS_LEVEL = 6


class PackageRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    function_dir: Path | None = None
    output_dir: Path = Path("dist")
    remote_build: bool = False


class PackageReport(BaseModel):
    path: Path
    version: str
    sha256: str
    bytes: int
    files: int
    commit: str | None
    dirty: bool
    remote_build: bool
    functions: list[str]
    dependencies: int
    build_seconds: float
    manifest: ReleaseManifest


@dataclass(frozen=True)
class GitState:
    commit: str | None
    dirty: bool
    committed_at: datetime | None


def source_files(function_dir: Path) -> list[str]:
    """The app's files to ship, as sorted POSIX paths relative to `function_dir` (`.funcignore` applied)."""
    import pathspec

    ignore = function_dir / FUNCIGNORE
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.is_file() else []
    spec = pathspec.GitIgnoreSpec.from_lines([*lines, *_NEVER_SOURCES])
    files = []
    for root, directories, names in os.walk(function_dir):
        relative_root = Path(root).relative_to(function_dir)
        # Prune ignored directories so their contents are never walked (a .venv, node_modules).
        directories[:] = sorted(
            name for name in directories if not spec.match_file(f"{(relative_root / name).as_posix()}/")
        )
        for name in names:
            path = (relative_root / name).as_posix()
            if not spec.match_file(path) and not (Path(root) / name).is_symlink():
                files.append(path)
    return sorted(files)


def git_state(function_dir: Path, files: Iterable[str]) -> GitState:
    """The HEAD commit, whether any shipped file differs from it, and when it was made; no git, no commit."""

    def git(*arguments: str) -> str | None:
        try:
            completed = subprocess.run(
                ["git", "-C", str(function_dir), *arguments],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return completed.stdout if completed.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return GitState(None, False, None)
    top = Path((git("rev-parse", "--show-toplevel") or str(function_dir)).strip())
    status = git("status", "--porcelain", "--untracked-files=all", "--no-renames", "--", ".") or ""
    changed = {(top / line[3:].strip().strip('"')).resolve() for line in status.splitlines() if line}
    shipped = {(function_dir / path).resolve() for path in files}
    committed = git("log", "-1", "--format=%ct", "HEAD")
    committed_at = datetime.fromtimestamp(int(committed), UTC) if committed and committed.strip() else None
    return GitState(commit.strip(), bool(changed & shipped), committed_at)


def source_date(function_dir: Path, files: Iterable[str], git: GitState) -> datetime:
    """SOURCE_DATE_EPOCH when set; else the commit's time for unchanged sources; else the newest file's."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    if git.committed_at is not None and not git.dirty:
        return git.committed_at
    newest = max((int((function_dir / path).stat().st_mtime) for path in files), default=0)
    return datetime.fromtimestamp(newest, UTC)


def content_sha256(entries: Iterable[tuple[str, bytes]]) -> str:
    """One hash over every entry's path and bytes, in order: what the package is."""
    digest = hashlib.sha256()
    for name, data in entries:
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def verify_package(package: Path) -> ReleaseManifest:
    """A built zip checked before it ships: its manifest, its content against the manifest's hash, and
    the functions it registers (loaded as the worker would, from an extracted copy)."""
    manifest = read_manifest(package)
    with zipfile.ZipFile(package) as archive:
        names = sorted(
            name for name in archive.namelist() if name != MANIFEST_NAME and not name.endswith("/")
        )
        content = content_sha256((name, archive.read(name)) for name in names)
        if content != manifest.content_sha256:
            raise PaysimError(
                "invalid_package",
                f"{package}: its content does not match its manifest (changed after it was built?)",
                "rebuild it with `paysim function package`",
                exit_code=ExitCode.CONFIG,
            )
        with tempfile.TemporaryDirectory(prefix="paysim-verify-") as scratch:
            archive.extractall(scratch)
            functions = check_registration(Path(scratch), package)
    found = sorted(function.name for function in functions)
    if found != sorted(manifest.function_names()):
        raise PaysimError(
            "invalid_package",
            f"{package} registers {', '.join(found)}, but its manifest says "
            f"{', '.join(manifest.function_names())}",
            "rebuild it with `paysim function package`",
            exit_code=ExitCode.CONFIG,
        )
    return manifest


def release_version(content: str, git: GitState) -> str:
    """`<content hash 12>`, `-<commit 8>` when there is one, and `-dirty` when the sources differ from it."""
    if git.commit is None:
        return content[:12]
    return f"{content[:12]}-{git.commit[:8]}" + ("-dirty" if git.dirty else "")


def write_zip(path: Path, root: Path, entries: list[str], manifest: ReleaseManifest) -> None:
    """The zip, entries sorted, each with the same timestamp and mode: the same inputs, the same bytes."""
    members = sorted([*entries, MANIFEST_NAME])
    manifest_bytes = manifest.model_dump_json(indent=2).encode() + b"\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
        for name in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.create_system = 3  # Unix: Flex mounts the package as a Linux file system and needs modes
            info.external_attr = ZIP_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = manifest_bytes if name == MANIFEST_NAME else (root / name).read_bytes()
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)


def build_package(settings: Settings, request: PackageRequest) -> PackageReport:
    """Stage the sources, vendor the dependencies, check what the app registers, and write the zip."""
    started = time.monotonic()
    function_dir = (request.function_dir or DEFAULT_FUNCTION_DIR).resolve()
    script_path(function_dir)
    requirements = function_dir / REQUIREMENTS
    if not requirements.is_file():
        raise PaysimError(
            "requirements_not_found",
            f"no {REQUIREMENTS} in {function_dir}",
            "the Functions runtime installs the app's dependencies from it; add one (it may be empty)",
            exit_code=ExitCode.CONFIG,
        )
    files = source_files(function_dir)
    git = git_state(function_dir, files)
    platform = TargetPlatform()
    with tempfile.TemporaryDirectory(prefix="paysim-package-") as scratch:
        staging = Path(scratch) / "app"
        dependencies = _stage(settings, request, function_dir, files, staging, platform)
        functions = check_registration(staging, function_dir)
        entries = staged_entries(staging)
        content = content_sha256((entry, (staging / entry).read_bytes()) for entry in entries)
        manifest = ReleaseManifest(
            version=release_version(content, git),
            content_sha256=content,
            commit=git.commit,
            dirty=git.dirty,
            built_at=source_date(function_dir, files, git),
            requirements_sha256=requirements_sha256(requirements),
            remote_build=request.remote_build,
            platform=platform,
            dependencies=dependencies,
            functions=[ManifestFunction(name=f.name, trigger=f.trigger) for f in functions],
            files=len(entries) + 1,
        )
        request.output_dir.mkdir(parents=True, exist_ok=True)
        package = request.output_dir / f"paysim-function-{manifest.version}.zip"
        partial = package.with_name(package.name + ".partial")
        write_zip(partial, staging, entries, manifest)
        partial.replace(package)
    return PackageReport(
        path=package,
        version=manifest.version,
        sha256=file_sha256(package),
        bytes=package.stat().st_size,
        files=manifest.files,
        commit=git.commit,
        dirty=git.dirty,
        remote_build=request.remote_build,
        functions=manifest.function_names(),
        dependencies=len(dependencies),
        build_seconds=round(time.monotonic() - started, 2),
        manifest=manifest,
    )


def _stage(
    settings: Settings,
    request: PackageRequest,
    function_dir: Path,
    files: list[str],
    staging: Path,
    platform: TargetPlatform,
) -> list[str]:
    """Copy the app's files into `staging` and vendor its dependencies (none with remote_build)."""
    for path in files:
        (staging / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(function_dir / path, staging / path)
    if request.remote_build:
        return []
    wheels = settings.state_dir / "function" / "wheels"
    return vendor_dependencies(function_dir / REQUIREMENTS, staging / SITE_PACKAGES, wheels, platform)


def staged_entries(staging: Path) -> list[str]:
    """Every file under `staging` as a sorted POSIX path, byte order (not the file system's)."""
    entries = [
        path.relative_to(staging).as_posix()
        for path in staging.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    return sorted(entries)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

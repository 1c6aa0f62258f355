"""The release manifest every package carries: what it is, where it came from, what it registers."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from paysim_cli.errors import ExitCode, PaysimError

MANIFEST_NAME = "paysim-release.json"
MANIFEST_FORMAT = 1


class TargetPlatform(BaseModel):
    """The Functions runtime the vendored dependencies were chosen for."""

    model_config = ConfigDict(frozen=True)

    os: str = "linux"
    machine: str = "x86_64"
    python_version: str = "3.11"
    implementation: str = "cp"
    wheel_platform: str = "manylinux2014_x86_64"


class ManifestFunction(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    trigger: str | None


class ReleaseManifest(BaseModel):
    """`paysim-release.json` at the root of the zip. Everything in it follows from the sources."""

    model_config = ConfigDict(frozen=True)

    format: int = MANIFEST_FORMAT
    version: str
    content_sha256: str  # over every other entry's path and bytes: the zip's identity
    commit: str | None
    dirty: bool  # the shipped sources differ from `commit`
    built_at: datetime  # the sources' date (SOURCE_DATE_EPOCH, the commit's time, or the newest file)
    requirements_sha256: str
    remote_build: bool  # dependencies left to the service's build
    platform: TargetPlatform = TargetPlatform()
    dependencies: list[str]  # name==version of every vendored distribution
    functions: list[ManifestFunction]
    files: int

    def function_names(self) -> list[str]:
        return [function.name for function in self.functions]


def read_manifest(package: Path) -> ReleaseManifest:
    """The manifest inside `package`; `invalid_package` when it is not a paysim release zip."""
    try:
        with zipfile.ZipFile(package) as archive:
            raw = archive.read(MANIFEST_NAME)
    except FileNotFoundError as error:
        raise PaysimError(
            "package_not_found",
            f"package {package} does not exist",
            "build one with `paysim function package`",
            exit_code=ExitCode.CONFIG,
        ) from error
    except (zipfile.BadZipFile, KeyError) as error:
        raise _invalid(package, f"{type(error).__name__}: {error}") from error
    try:
        return ReleaseManifest.model_validate_json(raw)
    except ValidationError as error:
        raise _invalid(package, f"{MANIFEST_NAME}: {error.errors()[0]['msg']}") from error


def _invalid(package: Path, reason: str) -> PaysimError:
    return PaysimError(
        "invalid_package",
        f"{package} is not a paysim release package ({reason})",
        f"build one with `paysim function package`; it carries {MANIFEST_NAME} at its root",
        exit_code=ExitCode.CONFIG,
    )

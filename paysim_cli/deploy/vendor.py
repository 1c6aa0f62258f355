"""The Function's dependencies vendored as the Functions runtime loads them: Linux x86_64 CPython 3.11
binary wheels only (as Core Tools builds them), installed into `.python_packages/lib/site-packages`.

Wheels are downloaded once per requirements file (by its sha256) into the state directory, and every
later build installs from that cache with no index: the same requirements give the same distributions,
so the package is byte-identical, and a rebuild takes seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from email.parser import HeaderParser
from pathlib import Path

from paysim_cli.deploy.manifest import TargetPlatform
from paysim_cli.errors import ExitCode, PaysimError

PIP_TIMEOUT_SECONDS = 900.0
_COMPLETE = ".complete"


def requirements_sha256(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def _platform_options(platform: TargetPlatform) -> list[str]:
    return [
        "--platform",
        platform.wheel_platform,
        "--only-binary=:all:",
        "--python-version",
        platform.python_version,
        "--implementation",
        platform.implementation,
    ]


def wheel_cache(cache_root: Path, requirements: Path, platform: TargetPlatform) -> Path:
    """The wheels for `requirements` on `platform`, downloaded now unless a complete download exists."""
    cache = (
        cache_root
        / f"{platform.wheel_platform}-cp{platform.python_version}"
        / requirements_sha256(requirements)[:16]
    )
    if (cache / _COMPLETE).exists():
        return cache
    partial = cache.with_name(cache.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _pip("download", "--dest", str(partial), *_platform_options(platform), "-r", str(requirements))
    (partial / _COMPLETE).touch()
    shutil.rmtree(cache, ignore_errors=True)
    partial.rename(cache)
    return cache


def vendor_dependencies(
    requirements: Path, target: Path, cache_root: Path, platform: TargetPlatform
) -> list[str]:
    """Install `requirements` for `platform` into `target`; the distributions, as sorted name==version."""
    cache = wheel_cache(cache_root, requirements, platform)
    _pip(
        "install",
        "--no-index",
        "--find-links",
        str(cache),
        "--target",
        str(target),
        *_platform_options(platform),
        "--no-compile",
        "--no-warn-script-location",
        "-r",
        str(requirements),
    )
    _drop_scripts(target)
    return installed_distributions(target)


def installed_distributions(site_packages: Path) -> list[str]:
    """name==version of every distribution in `site_packages`, from its METADATA."""
    found = []
    for metadata in sorted(site_packages.glob("*.dist-info/METADATA")):
        headers = HeaderParser().parsestr(metadata.read_text(encoding="utf-8", errors="replace"))
        found.append(f"{headers['Name']}=={headers['Version']}")
    return sorted(found, key=str.lower)


def _drop_scripts(target: Path) -> None:
    """Console scripts are of no use to the Functions host, and their shebang names this machine's
    interpreter: drop them and their RECORD lines, so the package does not depend on where it was built."""
    shutil.rmtree(target / "bin", ignore_errors=True)
    for record in target.glob("*.dist-info/RECORD"):
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(("../../bin/", "bin/"))]
        if kept != lines:
            record.write_text("".join(kept), encoding="utf-8")


def _pip(*arguments: str) -> None:
    environ = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "pip", *arguments, "--quiet"],
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_SECONDS,
            check=False,
            env=environ,
        )
    except subprocess.TimeoutExpired as error:
        raise PaysimError(
            "dependency_install_failed",
            f"pip {arguments[0]} did not finish within {PIP_TIMEOUT_SECONDS:g} s",
            "check that the package index is reachable, or build with --remote-build",
            exit_code=ExitCode.EXTERNAL,
        ) from error
    if completed.returncode != 0:
        errors = [line for line in completed.stderr.splitlines() if line.startswith("ERROR")]
        detail = (errors or completed.stderr.strip().splitlines() or [f"exit {completed.returncode}"])[-1]
        raise PaysimError(
            "dependency_install_failed",
            f"pip {arguments[0]} for the Functions runtime failed: {detail}",
            "every requirement needs a manylinux2014 x86_64 CPython 3.11 wheel (no source builds, as Core "
            "Tools does); pin a version that has one, or build with --remote-build",
            exit_code=ExitCode.EXTERNAL,
        )

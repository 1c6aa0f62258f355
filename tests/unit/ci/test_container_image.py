"""The container image, checked without a Docker engine (none runs here): the Dockerfile's own rules,
and its build stage's `pip install .` replayed on exactly the files it copies."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_commands import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def instructions() -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, its words) per instruction, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split()[0].upper(), line.split()[1:]) for line in lines]


def build_stage_copy_sources() -> list[str]:
    """What the build stage copies from the build context (COPY without --from)."""
    sources = []
    for instruction, words in instructions():
        if instruction == "COPY" and not any(word.startswith("--from") for word in words):
            sources += [word.rstrip("/") for word in words[:-1] if not word.startswith("--")]
    return sources


def test_it_is_multi_stage_from_a_base_pinned_by_digest() -> None:
    stages = [words for instruction, words in instructions() if instruction == "FROM"]
    aliases = {words[2] for words in stages if len(words) == 3 and words[1].upper() == "AS"}
    external = [words[0] for words in stages if words[0] not in aliases]
    assert len(stages) >= 3
    assert external
    assert all(DIGEST.search(image) for image in external), external
    assert all(image.startswith("python:3.11-slim-bookworm@") for image in external)


def test_it_runs_paysim_as_an_unprivileged_numeric_user() -> None:
    users = [words[0] for instruction, words in instructions() if instruction == "USER"]
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) > 0
    entrypoint = next(words for instruction, words in instructions() if instruction == "ENTRYPOINT")
    assert json.loads(" ".join(entrypoint)) == ["paysim"]


def test_the_build_context_admits_what_the_build_stage_copies_and_nothing_else() -> None:
    rules = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()]
    rules = [rule for rule in rules if rule and not rule.startswith("#")]
    assert rules[0] == "*"  # an allowlist
    admitted = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert admitted == set(build_stage_copy_sources())


@pytest.fixture(scope="module")
def installed_image_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build stage's `pip install .`, from a context holding only what the Dockerfile copies
    (dependencies come from this environment instead of the registry)."""
    context = tmp_path_factory.mktemp("context")
    for source in build_stage_copy_sources():
        origin = PROJECT_ROOT / source
        if origin.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "local.settings.json")
            shutil.copytree(origin, context / source, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(origin, context / source)
    wheels = tmp_path_factory.mktemp("wheels")
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(context)], check=True, timeout=300
    )
    (wheel,) = wheels.glob("paysim-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, timeout=300
    )
    return target


def run_installed(target: Path, cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_installed_paysim_is_the_wheel_not_the_checkout(
    installed_image_packages: Path, tmp_path: Path
) -> None:
    probe = "import paysim_cli, paysim_pipeline; print(paysim_cli.__file__); print(paysim_pipeline.__file__)"
    result = run_installed(installed_image_packages, tmp_path, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert all(Path(line).is_relative_to(installed_image_packages) for line in result.stdout.splitlines())


def test_the_installed_paysim_finds_its_bundled_profiles_and_migrations(
    installed_image_packages: Path, tmp_path: Path
) -> None:
    probe = "from paysim_cli.simulator.profile_store import BUNDLED_PROFILES_DIR as d; print(d)"
    profiles = run_installed(installed_image_packages, tmp_path, "-c", probe)
    assert profiles.returncode == 0, profiles.stderr
    bundled = Path(profiles.stdout.strip())
    assert bundled.is_relative_to(installed_image_packages)
    assert {path.name for path in bundled.glob("*.yaml")} == {
        path.name for path in (PROJECT_ROOT / "profiles").glob("*.yaml")
    }

    probe = (
        "from paysim_cli.migrations.script import PACKAGED_SQL_DIR as d; print(len(list(d.glob('*.up.sql'))))"
    )
    migrations = run_installed(installed_image_packages, tmp_path, "-c", probe)
    assert migrations.returncode == 0, migrations.stderr
    assert int(migrations.stdout) == len(list((PROJECT_ROOT / "sql").glob("*.up.sql")))


def test_the_installed_paysim_simulates_with_the_default_profile(
    installed_image_packages: Path, tmp_path: Path
) -> None:
    result = run_installed(
        installed_image_packages,
        tmp_path,
        "-m",
        "paysim_cli",
        "simulate",
        "--count",
        "20",
        "--output",
        "events.ndjson",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "events.ndjson").read_text(encoding="utf-8").splitlines()) == 20

"""`paysim function package` without the wheel download (--remote-build): what goes in, what stays out,
the same bytes for the same sources, the version, and the refusals. The vendored build is tested in
tests/integration/deploy/test_vendored_package.py."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import orjson
import pytest

from paysim_cli.deploy.manifest import MANIFEST_NAME, read_manifest
from paysim_cli.deploy.package import (
    ZIP_MODE,
    ZIP_TIMESTAMP,
    PackageReport,
    PackageRequest,
    build_package,
    source_files,
    verify_package,
)
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

FUNCTION_DIR = Path(__file__).resolve().parents[3] / "function"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A copy of the project's Function app with everything a developer's tree has that must not ship."""
    app = tmp_path / "app"
    shutil.copytree(FUNCTION_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    (app / "local.settings.json").write_text('{"Values": {"PAYSIM_DATABASE_URL": "postgresql://u:pw@h/db"}}')
    (app / "tests").mkdir()
    (app / "tests" / "test_app.py").write_text("def test(): pass\n")
    (app / ".venv" / "lib").mkdir(parents=True)
    (app / ".venv" / "lib" / "x.py").write_text("")
    (app / "paysim_pipeline" / "__pycache__").mkdir(exist_ok=True)
    (app / "paysim_pipeline" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (app / ".python_packages" / "lib" / "site-packages").mkdir(parents=True)
    (app / ".python_packages" / "lib" / "site-packages" / "stale.py").write_text("")
    return app


def _build(settings: Settings, app: Path, output: Path) -> PackageReport:
    return build_package(settings, PackageRequest(function_dir=app, output_dir=output, remote_build=True))


def test_the_package_respects_funcignore_and_carries_its_manifest(
    settings: Settings, app: Path, tmp_path: Path
) -> None:
    report = _build(settings, app, tmp_path / "out")
    with zipfile.ZipFile(report.path) as archive:
        names = archive.namelist()
        infos = archive.infolist()
        manifest = orjson.loads(archive.read(MANIFEST_NAME))
    assert {"function_app.py", "paysim_pipeline/processor.py", "host.json"} <= set(names)
    assert "paysim_pipeline/schema/payment_event.v1.json" in names
    for excluded in ("local.settings.json", "local.settings.json.example", "tests/", ".venv/", "settings/"):
        assert not any(name == excluded or name.startswith(excluded) for name in names), excluded
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert not any(name.startswith(".python_packages") for name in names)  # remote build: none vendored
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {ZIP_TIMESTAMP}
    assert {info.external_attr >> 16 for info in infos} == {ZIP_MODE}
    assert {info.create_system for info in infos} == {3}
    assert manifest["version"] == report.version
    assert manifest["functions"] == [{"name": "process_payment_events", "trigger": "eventHubTrigger"}]
    assert (manifest["remote_build"], manifest["dependencies"]) == (True, [])
    assert (manifest["commit"], manifest["dirty"]) == (None, False)  # a copy outside git
    assert report.version == manifest["content_sha256"][:12]
    assert read_manifest(report.path).version == report.version


def test_the_same_sources_give_the_same_bytes(settings: Settings, app: Path, tmp_path: Path) -> None:
    first = _build(settings, app, tmp_path / "one")
    (app / "tests" / "test_more.py").write_text("")  # an ignored file changes nothing
    second = _build(settings, app, tmp_path / "two")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    (app / "payment_events.py").write_text((app / "payment_events.py").read_text() + "\n# changed\n")
    third = _build(settings, app, tmp_path / "three")
    assert third.version != first.version


def test_the_version_names_the_commit_and_local_changes(
    settings: Settings, app: Path, tmp_path: Path
) -> None:
    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", "-C", str(app), *arguments], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "app", "--date=2025-01-02T03:04:05Z")
    commit = git("rev-parse", "HEAD")
    clean = _build(settings, app, tmp_path / "clean")
    assert (clean.commit, clean.dirty) == (commit, False)
    assert clean.version.endswith(f"-{commit[:8]}")
    assert clean.manifest.built_at.isoformat().startswith(
        git("log", "-1", "--format=%cI").replace("+00:00", "")
    )
    (app / "tests" / "test_app.py").write_text("changed, but not shipped\n")
    assert _build(settings, app, tmp_path / "ignored").version == clean.version
    (app / "host.json").write_text((app / "host.json").read_text().replace("00:10:00", "00:05:00"))
    dirty = _build(settings, app, tmp_path / "dirty")
    assert dirty.dirty
    assert dirty.version.endswith(f"-{commit[:8]}-dirty")


def test_an_app_that_registers_no_function_is_refused(settings: Settings, tmp_path: Path) -> None:
    app = tmp_path / "empty"
    app.mkdir()
    (app / "function_app.py").write_text("import azure.functions as func\n\napp = func.FunctionApp()\n")
    (app / "requirements.txt").write_text("azure-functions\n")
    with pytest.raises(PaysimError) as raised:
        _build(settings, app, tmp_path / "out")
    assert (raised.value.code, raised.value.exit_code) == ("no_functions_registered", ExitCode.CONFIG)
    assert str(app.resolve() / "function_app.py") in raised.value.message  # the sources, not a scratch copy
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_an_app_that_fails_to_import_is_refused_with_the_cause(settings: Settings, tmp_path: Path) -> None:
    app = tmp_path / "broken"
    app.mkdir()
    (app / "function_app.py").write_text("import missing_module_xyz\n")
    (app / "requirements.txt").write_text("")
    with pytest.raises(PaysimError) as raised:
        _build(settings, app, tmp_path / "out")
    assert raised.value.code == "function_app_import_failed"
    assert "missing_module_xyz" in raised.value.message


def test_a_tree_without_requirements_or_app_is_refused(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "norequirements").mkdir()
    (tmp_path / "norequirements" / "function_app.py").write_text("")
    with pytest.raises(PaysimError) as raised:
        _build(settings, tmp_path / "norequirements", tmp_path / "out")
    assert raised.value.code == "requirements_not_found"
    with pytest.raises(PaysimError) as raised:
        _build(settings, tmp_path, tmp_path / "out")
    assert raised.value.code == "function_app_not_found"


def test_a_package_changed_after_it_was_built_is_refused(
    settings: Settings, app: Path, tmp_path: Path
) -> None:
    report = _build(settings, app, tmp_path / "out")
    assert verify_package(report.path).version == report.version
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(report.path) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, data + b"\n# more" if info.filename == "payment_events.py" else data)
    with pytest.raises(PaysimError) as raised:
        verify_package(tampered)
    assert raised.value.code == "invalid_package"
    (tmp_path / "not.zip").write_text("no zip")
    with pytest.raises(PaysimError) as raised:
        read_manifest(tmp_path / "not.zip")
    assert raised.value.code == "invalid_package"
    with pytest.raises(PaysimError) as raised:
        read_manifest(tmp_path / "absent.zip")
    assert raised.value.code == "package_not_found"


def test_source_files_prune_ignored_directories(app: Path) -> None:
    files = source_files(app)
    assert {"function_app.py", ".funcignore"} <= set(files)
    assert not [path for path in files if path.startswith((".venv", "tests", "settings"))]

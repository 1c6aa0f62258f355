"""`paysim function package` with its dependencies vendored for the Functions runtime (Linux x86_64,
CPython 3.11, binary wheels from the package index): twice the same sha256, nothing that must not ship,
and an app that imports in a fresh virtual environment from its own `.python_packages` alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from paysim_cli.deploy.package import PackageRequest, build_package
from paysim_cli.settings import Settings

FUNCTION_DIR = Path(__file__).resolve().parents[3] / "function"


def test_a_vendored_package_is_reproducible_clean_and_imports_from_its_own_packages(
    tmp_path: Path, function_wheels: Callable[[Path], Path]
) -> None:
    app = tmp_path / "app"
    shutil.copytree(FUNCTION_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    (app / "local.settings.json").write_text('{"Values": {}}')
    (app / "tests").mkdir()
    (app / "tests" / "test_it.py").write_text("")
    (tmp_path / "state").mkdir()
    settings = Settings(state_dir=function_wheels(tmp_path / "state"))

    first = build_package(settings, PackageRequest(function_dir=app, output_dir=tmp_path / "one"))
    second = build_package(settings, PackageRequest(function_dir=app, output_dir=tmp_path / "two"))
    assert first.sha256 == second.sha256  # two installs from the downloaded wheels, the same bytes
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.dependencies > 20
    assert any(name.startswith("numpy==") for name in first.manifest.dependencies)

    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "unzipped")
    assert not [name for name in names if name.startswith(("tests/", "local.settings.json", ".venv/"))]
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in names if name.startswith(".python_packages/lib/site-packages/bin/")]
    assert any(name.endswith(".cpython-311-x86_64-linux-gnu.so") for name in names)

    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    unzipped = tmp_path / "unzipped"
    probe = (
        "import json, sys\n"
        "sys.path[:0] = ['.', '.python_packages/lib/site-packages']\n"
        "import function_app, numpy, psycopg, azure.functions\n"
        "print(json.dumps({'functions': [f.get_function_name() for f in function_app.app.get_functions()],"
        " 'numpy': numpy.__file__, 'site': [p for p in sys.path if 'site-packages' in p]}))\n"
    )
    completed = subprocess.run(
        [str(fresh / "bin" / "python"), "-I", "-c", probe],
        cwd=unzipped,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    assert answer["functions"] == ["process_payment_events"]
    assert answer["numpy"].startswith(str(unzipped / ".python_packages"))
    assert [path for path in answer["site"] if not path.startswith((".python_packages", str(fresh)))] == []

"""Migration files on disk: naming rules, checksums, the default directory, scaffolding."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.migrations import new
from paysim_cli.migrations import script as script_module
from paysim_cli.migrations.script import default_sql_dir, load_scripts, project_sql_dir, read_sql, scaffold

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_loads_versions_in_order_with_their_optional_files(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "sql",
        {
            "0002_b.up.sql": "SELECT 2;",
            "0001_a.up.sql": "SELECT 1;",
            "0001_a.down.sql": "SELECT 0;",
            "0001_a.verify.sql": "SELECT true;",
            "README.md": "ignored: not .sql",
        },
    )
    first, second = load_scripts(directory)
    assert (first.label, second.label) == ("0001_a", "0002_b")
    assert first.down_path == directory / "0001_a.down.sql"
    assert first.verify_path == directory / "0001_a.verify.sql"
    assert (second.down_path, second.verify_path) == (None, None)
    assert first.checksum == hashlib.sha256(b"SELECT 1;").hexdigest()


def test_every_naming_problem_is_reported_at_once(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "sql",
        {
            "1_short.up.sql": "",
            "0001_CamelCase.up.sql": "",
            "0002_one.up.sql": "",
            "0002_other.down.sql": "",
            "0003_lonely.down.sql": "",
            "0000_zero.up.sql": "",
        },
    )
    with pytest.raises(PaysimError) as raised:
        load_scripts(directory)
    assert (raised.value.code, raised.value.exit_code) == ("invalid_migration_files", ExitCode.CONFIG)
    for problem in (
        "1_short.up.sql is not named",
        "0001_CamelCase.up.sql is not named",
        "version 0002 has files with different names: ['one', 'other']",
        "version 0003 has no up file",
        "version 0000 is reserved",
    ):
        assert problem in raised.value.message


def test_a_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(PaysimError) as raised:
        load_scripts(tmp_path / "missing")
    assert (raised.value.code, raised.value.exit_code) == ("sql_dir_not_found", ExitCode.CONFIG)


def test_transaction_control_is_refused_in_transactional_files_only(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "sql",
        {"a.sql": "SELECT 1;\ncommit;", "b.sql": "-- paysim:no-transaction\nVACUUM t;\nCOMMIT;"},
    )
    with pytest.raises(PaysimError, match="`commit` controls the transaction paysim opens"):
        read_sql(directory / "a.sql")
    assert not read_sql(directory / "b.sql").transactional


def test_the_default_directory_is_the_project_sql_through_the_package_symlink() -> None:
    assert default_sql_dir() == PROJECT_ROOT / "sql"
    assert project_sql_dir() == PROJECT_ROOT / "sql"
    assert [script.version for script in load_scripts(default_sql_dir())][:5] == [1, 2, 3, 4, 5]


def test_scaffold_writes_the_next_pair(tmp_path: Path) -> None:
    directory = write(tmp_path / "sql", {"0007_existing.up.sql": "SELECT 1;"})
    version, up_path, down_path = scaffold(directory, "add_index")
    assert (version, up_path.name, down_path.name) == (8, "0008_add_index.up.sql", "0008_add_index.down.sql")
    assert read_sql(up_path).transactional
    assert read_sql(up_path).statements == ()
    assert down_path.read_text(encoding="utf-8").startswith("-- Reverts 0008_add_index.up.sql")


def test_new_needs_a_directory_when_installed_from_a_wheel(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = write(tmp_path / "site-packages-sql", {"0001_a.up.sql": "SELECT 1;"})
    monkeypatch.setattr(script_module, "PACKAGED_SQL_DIR", shipped)  # a real directory, not the symlink
    assert project_sql_dir() is None
    with pytest.raises(PaysimError) as raised:
        new(settings, "anything")
    assert (raised.value.code, raised.value.exit_code) == ("sql_dir_required", ExitCode.USAGE)
    assert new(settings, "anything", sql_dir=shipped).version == 2

"""Migration files on disk: discovery, naming rules, checksums, and scaffolding the next pair."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.migrations.statements import Statement, runs_outside_transaction, split_statements

Direction = Literal["up", "down"]

# A symlink to the project's sql/ in a checkout; setuptools follows it, so a wheel ships real files.
PACKAGED_SQL_DIR = Path(__file__).resolve().parent / "sql"
FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z][a-z0-9_]*)\.(?P<kind>up|down|verify)\.sql$")
MIGRATION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# paysim owns the transaction around each migration; a file's own BEGIN/COMMIT would break atomicity.
_TRANSACTION_CONTROL = re.compile(
    r"^(?:BEGIN|COMMIT|ROLLBACK|END|ABORT|START\s+TRANSACTION|SAVEPOINT|RELEASE)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class MigrationSql:
    """One file's SQL, split into statements, and whether it runs in a transaction."""

    path: Path
    source: str
    statements: tuple[Statement, ...]
    transactional: bool


@dataclass(frozen=True)
class MigrationScript:
    """Version NNNN: its up file (required), down and verify files (optional), the up file's checksum."""

    version: int
    name: str
    up_path: Path
    down_path: Path | None
    verify_path: Path | None
    checksum: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    def path(self, direction: Direction) -> Path | None:
        return self.up_path if direction == "up" else self.down_path

    def sql(self, direction: Direction) -> MigrationSql:
        path = self.path(direction)
        if path is None:
            raise PaysimError(
                "missing_down_migration",
                f"{self.label} has no down file ({self.label}.down.sql)",
                "write the down file that reverts it; nothing was rolled back",
                exit_code=ExitCode.CONFIG,
            )
        sql = read_sql(path)
        if not sql.statements:
            raise PaysimError(
                "empty_migration",
                f"{display_path(path)} has no SQL statement, only comments: running it would record "
                f"{self.label} as {'applied' if direction == 'up' else 'reverted'} while changing nothing",
                "write the change into it (`paysim db new NAME` scaffolds an empty pair), or delete the pair",
                exit_code=ExitCode.CONFIG,
            )
        return sql


def read_sql(path: Path) -> MigrationSql:
    source = path.read_text(encoding="utf-8")
    statements = tuple(split_statements(source))
    transactional = not runs_outside_transaction(source)
    for statement in statements:
        if transactional and _TRANSACTION_CONTROL.match(statement.text):
            raise PaysimError(
                "invalid_migration_file",
                f"{display_path(path)}: `{statement.text.split()[0]}` controls the transaction paysim opens",
                "remove BEGIN/COMMIT: each migration already runs in its own transaction",
                exit_code=ExitCode.CONFIG,
            )
    return MigrationSql(path, source, statements, transactional)


def default_sql_dir() -> Path:
    """The project's sql/ (through the package's symlink), or the copy shipped in the wheel."""
    return PACKAGED_SQL_DIR.resolve()


def project_sql_dir() -> Path | None:
    """Where `paysim db new` writes by default: the checkout's sql/, None when installed from a wheel."""
    return PACKAGED_SQL_DIR.resolve() if PACKAGED_SQL_DIR.is_symlink() else None


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it is below it, so messages stay short."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_scripts(sql_dir: Path) -> list[MigrationScript]:
    """Every migration in `sql_dir`, by version. Misnamed or incomplete files are one error listing all."""
    if not sql_dir.is_dir():
        raise PaysimError(
            "sql_dir_not_found",
            f"migration directory {sql_dir} does not exist",
            "pass --sql-dir with the directory holding NNNN_name.up.sql files",
            exit_code=ExitCode.CONFIG,
        )
    files: dict[int, dict[str, Path]] = {}
    names: dict[int, set[str]] = {}
    problems: list[str] = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match is None:
            problems.append(f"{path.name} is not named NNNN_snake_name.(up|down|verify).sql")
            continue
        version = int(match["version"])
        files.setdefault(version, {})[match["kind"]] = path
        names.setdefault(version, set()).add(match["name"])
    scripts: list[MigrationScript] = []
    for version in sorted(files):
        kinds = files[version]
        if len(names[version]) > 1:
            problems.append(f"version {version:04d} has files with different names: {sorted(names[version])}")
        elif version == 0:
            problems.append("version 0000 is reserved for 'nothing applied'; start at 0001")
        elif "up" not in kinds:
            problems.append(f"version {version:04d} has no up file")
        else:
            scripts.append(
                MigrationScript(
                    version=version,
                    name=next(iter(names[version])),
                    up_path=kinds["up"],
                    down_path=kinds.get("down"),
                    verify_path=kinds.get("verify"),
                    checksum=hashlib.sha256(kinds["up"].read_bytes()).hexdigest(),
                )
            )
    if problems:
        raise PaysimError(
            "invalid_migration_files",
            f"{sql_dir}: " + "; ".join(problems),
            "name migrations NNNN_snake_name.up.sql / .down.sql (`paysim db new NAME` scaffolds a pair)",
            exit_code=ExitCode.CONFIG,
        )
    return scripts


def scaffold(sql_dir: Path, name: str) -> tuple[int, Path, Path]:
    """Write the next version's up and down files; returns the version and both paths."""
    if not MIGRATION_NAME.match(name):
        raise PaysimError(
            "invalid_migration_name",
            f"migration name {name!r} is not snake_case",
            "use lower-case letters, digits and underscores, starting with a letter: add_merchant_index",
            exit_code=ExitCode.USAGE,
        )
    scripts = load_scripts(sql_dir)
    same_name = next((script for script in scripts if script.name == name), None)
    if same_name is not None:
        raise PaysimError(
            "migration_exists",
            f"there is already a migration named {name}: {display_path(same_name.up_path)}",
            "choose a name that says what this change does, or edit the existing files",
            exit_code=ExitCode.CONFLICT,
        )
    version = max((script.version for script in scripts), default=0) + 1
    label = f"{version:04d}_{name}"
    up_path, down_path = sql_dir / f"{label}.up.sql", sql_dir / f"{label}.down.sql"
    up_path.write_text(
        f"-- {label}: what this migration changes, and why.\n"
        "-- Runs in one transaction. A file that must run outside one (CREATE INDEX CONCURRENTLY) starts\n"
        "-- with the line `-- paysim:no-transaction` and must be safe to run again.\n\n",
        encoding="utf-8",
    )
    down_path.write_text(
        f"-- Reverts {label}.up.sql: the catalog ends exactly as it was before it.\n\n", encoding="utf-8"
    )
    return version, up_path, down_path

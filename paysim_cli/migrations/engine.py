"""The operations `paysim db` offers, as plain functions taking Settings first and returning reports."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from paysim_cli.confirmation import require_confirmed, require_production_confirmed
from paysim_cli.db import connect, require_database_url
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.migrations.checks import check_objects, expected_objects, run_verify_script
from paysim_cli.migrations.drift import find_drift, refuse_drift
from paysim_cli.migrations.models import (
    AppliedMigration,
    MigrationStep,
    NewMigrationReport,
    PendingMigration,
    PlanReport,
    StatusReport,
    VerifyReport,
)
from paysim_cli.migrations.runtime import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    HISTORY_DDL,
    ensure_history_table,
    history_statement,
    migration_lock,
    read_history,
    run_migration,
)
from paysim_cli.migrations.script import (
    Direction,
    MigrationScript,
    MigrationSql,
    default_sql_dir,
    display_path,
    load_scripts,
    project_sql_dir,
    scaffold,
)
from paysim_cli.migrations.statements import runs_outside_transaction
from paysim_cli.secrets import mask_secrets
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.db import Connection

logger = logging.getLogger(__name__)

Planner = Callable[[Sequence[MigrationScript], Sequence[AppliedMigration]], list[MigrationScript]]


def require_migrated(settings: Settings, conn: Connection | None = None) -> None:
    """Refuse a database the migrations have not brought up to the files' version, before any command
    that reads or writes the pipeline's tables gets a confusing `relation does not exist` from it."""
    scripts = load_scripts(default_sql_dir())
    with nullcontext(conn) if conn is not None else _connect(settings, "schema check") as connection:
        applied = read_history(connection)
    refuse_drift(find_drift(scripts, applied))
    pending = _pending(scripts, applied)
    if pending:
        names = ", ".join(f"{item.version:04d}_{item.name}" for item in pending[:3])
        more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
        raise PaysimError(
            "schema_not_migrated",
            f"the database {_masked_url(settings)} is at version {_current(applied):04d}: "
            f"{len(pending)} migrations pending ({names}{more})",
            f"run `{settings.command('db migrate')}` first",
            exit_code=ExitCode.CONFIG,
        )


def _connect(settings: Settings, purpose: str) -> Connection:
    return connect(settings, autocommit=True, application_name=f"paysim {purpose}")


def status(
    settings: Settings, *, sql_dir: Path | None = None, connection: Connection | None = None
) -> StatusReport:
    """Applied and pending migrations, and any drift between the database and the files; on
    `connection` when given (left open: `paysim health` shares one between its checks)."""
    directory = sql_dir or default_sql_dir()
    scripts = load_scripts(directory)
    if connection is not None:
        applied = read_history(connection)
    else:
        with _connect(settings, "db status") as conn:
            applied = read_history(conn)
    return StatusReport(
        database=_masked_url(settings),
        sql_dir=display_path(directory),
        current_version=_current(applied),
        applied=applied,
        pending=_pending(scripts, applied),
        drift=find_drift(scripts, applied),
    )


def upgrade(
    settings: Settings,
    target: int | None = None,
    *,
    dry_run: bool = False,
    sql_dir: Path | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> PlanReport:
    """Apply pending migrations in order, up to `target` (all when None), each in its own transaction."""

    def plan(
        scripts: Sequence[MigrationScript], applied: Sequence[AppliedMigration]
    ) -> list[MigrationScript]:
        done = {row.version for row in applied}
        current = _current(applied)
        if target is not None and target != 0 and target not in {script.version for script in scripts}:
            raise _bad_target(f"there is no migration {target:04d} in the migration files")
        if target is not None and target < current:
            raise _bad_target(
                f"the database is at {current:04d}, past {target:04d}: use `paysim db rollback --to {target}`"
            )
        return [
            script
            for script in scripts
            if script.version not in done and (target is None or script.version <= target)
        ]

    return _run(settings, "up", plan, dry_run=dry_run, sql_dir=sql_dir, lock_timeout=lock_timeout)


def downgrade(
    settings: Settings,
    *,
    steps: int | None = None,
    target: int | None = None,
    dry_run: bool = False,
    sql_dir: Path | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    confirmed: bool = False,
    production_confirmed: bool = False,
) -> PlanReport:
    """Revert the last `steps` migrations, or every one after `target` (0: all), newest first.

    Reverting drops what the migrations created, data included: outside `local` it needs `confirmed`,
    and in a protected environment (production) `production_confirmed` as well. A dry run needs neither.
    """
    if (steps is None) == (target is None):
        raise _bad_target("give exactly one of --steps N or --to VERSION")
    if not dry_run:
        _check_rollback_confirmed(settings, confirmed=confirmed, production_confirmed=production_confirmed)

    def plan(
        scripts: Sequence[MigrationScript], applied: Sequence[AppliedMigration]
    ) -> list[MigrationScript]:
        newest_first = sorted(applied, key=lambda row: row.version, reverse=True)
        if steps is not None:
            if not 1 <= steps <= len(newest_first):
                raise _bad_target(f"cannot revert {steps} migrations: {len(newest_first)} are applied")
            chosen = newest_first[:steps]
        else:
            if target != 0 and target not in {row.version for row in applied}:
                raise _bad_target(f"{target:04d} is not an applied version (0 reverts everything)")
            chosen = [row for row in newest_first if target is not None and row.version > target]
        by_version = {script.version: script for script in scripts}
        return [by_version[row.version] for row in chosen]  # no drift, so every applied version has a file

    return _run(settings, "down", plan, dry_run=dry_run, sql_dir=sql_dir, lock_timeout=lock_timeout)


def _run(
    settings: Settings,
    direction: Direction,
    plan: Planner,
    *,
    dry_run: bool,
    sql_dir: Path | None,
    lock_timeout: float,
) -> PlanReport:
    directory = sql_dir or default_sql_dir()
    scripts = load_scripts(directory)
    verb = "migrate" if direction == "up" else "rollback"
    with (
        _connect(settings, f"db {verb}") as conn,
        nullcontext() if dry_run else migration_lock(conn, lock_timeout),
    ):
        if direction == "up" and not dry_run:
            ensure_history_table(conn)
        # Read under the lock: a migrate that waited for another sees what that one applied.
        applied = read_history(conn)
        refuse_drift(find_drift(scripts, applied))
        chosen = plan(scripts, applied)
        files = [(script, script.sql(direction)) for script in chosen]  # all read and checked first
        steps = [
            _step(script, file, direction, None if dry_run else _run_one(conn, script, file, direction))
            for script, file in files
        ]
        sql = _dry_run_sql(conn, files, direction, _current(applied)) if dry_run else None
    done, moved = {row.version for row in applied}, {step.version for step in steps}
    after = done | moved if direction == "up" else done - moved
    return PlanReport(
        database=_masked_url(settings),
        sql_dir=display_path(directory),
        direction=direction,
        dry_run=dry_run,
        from_version=_current(applied),
        to_version=max(after, default=0),
        steps=steps,
        sql=sql,
    )


def _run_one(conn: Connection, script: MigrationScript, file: MigrationSql, direction: Direction) -> int:
    logger.info("%s %s (%s)", "applying" if direction == "up" else "reverting", script.label, file.path.name)
    duration = run_migration(conn, script, file, direction)
    logger.debug("%s took %d ms", script.label, duration)
    return duration


def _check_rollback_confirmed(settings: Settings, *, confirmed: bool, production_confirmed: bool) -> None:
    if settings.is_local:
        return
    require_confirmed(
        confirmed,
        f"`paysim db rollback` drops what the reverted migrations created, in environment {settings.env}",
        "add --yes to confirm (at a terminal, paysim asks instead); --dry-run shows the SQL first",
    )
    require_production_confirmed(
        settings.env,
        protected=settings.is_protected,
        confirmed=production_confirmed,
        refusal="--yes alone does not roll its database back",
        flag="--rollback-production",
        meaning="drop production tables",
    )


def _step(
    script: MigrationScript, file: MigrationSql, direction: Direction, duration: int | None
) -> MigrationStep:
    return MigrationStep(
        version=script.version,
        name=script.name,
        file=display_path(file.path),
        direction=direction,
        transactional=file.transactional,
        duration_ms=duration,
    )


def _dry_run_sql(
    conn: Connection,
    files: Sequence[tuple[MigrationScript, MigrationSql]],
    direction: Direction,
    current: int,
) -> str:
    """The SQL a real run would send, in order, as one script (like alembic's --sql)."""
    if not files:
        return f"-- nothing to run: the database is at version {current:04d}\n"
    parts = [HISTORY_DDL + ";"] if direction == "up" else []
    for script, file in files:
        mode = "in one transaction" if file.transactional else "outside a transaction (paysim:no-transaction)"
        body = "\n\n".join(statement.text + ";" for statement in file.statements)
        record = history_statement(script, direction, 0).as_string(conn) + ";"
        run = f"BEGIN;\n{body}\n{record}\nCOMMIT;" if file.transactional else f"{body}\n{record}"
        parts.append(f"-- {script.label} {direction}: {display_path(file.path)}, {mode}\n{run}")
    return "\n\n".join(parts) + "\n"


def verify(settings: Settings, *, sql_dir: Path | None = None) -> VerifyReport:
    """No drift, no pending migration, every object the applied migrations create is present, every
    verify script passes. A deploy gate calls this: an empty database must not pass."""
    directory = sql_dir or default_sql_dir()
    scripts = load_scripts(directory)
    with _connect(settings, "db verify") as conn:
        applied = read_history(conn)
        refuse_drift(find_drift(scripts, applied))
        by_version = {script.version: script for script in scripts}
        applied_scripts = [by_version[row.version] for row in applied]
        checks = check_objects(conn, expected_objects(applied_scripts)) + [
            run_verify_script(conn, script.verify_path)
            for script in applied_scripts
            if script.verify_path is not None
        ]
    failed = [check for check in checks if not check.ok]
    if failed:
        raise PaysimError(
            "verify_failed",
            f"{len(failed)} of {len(checks)} checks failed: "
            + "; ".join(f"{check.name}: {check.detail}" for check in failed),
            "`paysim db status` shows what is applied; fix the database or the migration, then verify again",
            exit_code=ExitCode.VERIFY_FAILED,
        )
    report = VerifyReport(
        database=_masked_url(settings),
        sql_dir=display_path(directory),
        current_version=_current(applied),
        checks=checks,
        pending=_pending(scripts, applied),
    )
    if report.pending:
        names = ", ".join(f"{item.version:04d}_{item.name}" for item in report.pending)
        raise PaysimError(
            "migrations_pending",
            f"{len(report.pending)} migrations are not applied ({names}): the database is at version "
            f"{report.current_version:04d}",
            f"run `{settings.command('db migrate')}`, then verify again",
            exit_code=ExitCode.VERIFY_FAILED,
            report=report,
        )
    return report


def new(settings: Settings, name: str, *, sql_dir: Path | None = None) -> NewMigrationReport:
    """Scaffold the next NNNN_name.up.sql / .down.sql pair in the project's sql/ (or `sql_dir`).

    Takes Settings like every operation, though scaffolding needs nothing from them.
    """
    directory = sql_dir or project_sql_dir()
    if directory is None:
        raise PaysimError(
            "sql_dir_required",
            "paysim is installed from a wheel, so there is no project sql/ directory to write into",
            "pass --sql-dir with your project's migration directory",
            exit_code=ExitCode.USAGE,
        )
    version, up_path, down_path = scaffold(directory, name)
    return NewMigrationReport(
        version=version, name=name, up_file=display_path(up_path), down_file=display_path(down_path)
    )


def _current(applied: Sequence[AppliedMigration]) -> int:
    return max((row.version for row in applied), default=0)


def _pending(
    scripts: Sequence[MigrationScript], applied: Sequence[AppliedMigration]
) -> list[PendingMigration]:
    done = {row.version for row in applied}
    return [
        PendingMigration(
            version=script.version,
            name=script.name,
            file=display_path(script.up_path),
            transactional=not runs_outside_transaction(script.up_path.read_text(encoding="utf-8")),
        )
        for script in scripts
        if script.version not in done
    ]


def _masked_url(settings: Settings) -> str:
    return mask_secrets(require_database_url(settings))


def _bad_target(message: str) -> PaysimError:
    return PaysimError(
        "invalid_migration_target",
        message,
        "`paysim db status` lists the applied and pending versions",
        exit_code=ExitCode.USAGE,
    )

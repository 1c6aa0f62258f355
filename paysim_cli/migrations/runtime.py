"""Migrations against PostgreSQL: the schema_migrations history, the advisory lock, running one file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.migrations.models import AppliedMigration
from paysim_cli.migrations.script import Direction, MigrationScript, MigrationSql, display_path
from paysim_cli.migrations.statements import Statement, line_at

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from paysim_cli.db import Connection

# How long a migration waits for another's advisory lock before giving up (--lock-timeout's default).
DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0

HISTORY_DDL = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY CHECK (version > 0),
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL CHECK (duration_ms >= 0)
)"""
# 'paysim' in ASCII: the key of the session-level advisory lock every migrate and rollback holds.
LOCK_KEY = 0x70617973696D
LOCK_POLL_SECONDS = 0.1


class SqlFileError(PaysimError):
    """A statement of a SQL file failed; the message names the file, the line and the server's error."""

    def __init__(self, file: MigrationSql, statement: Statement, error: psycopg.Error, hint: str) -> None:
        position = error.diag.statement_position
        offset = statement.offset + (int(position) - 1 if position else 0)
        line = line_at(file.source, offset)
        reason = error.diag.message_primary or " ".join(str(error).split())
        sqlstate = f" (SQLSTATE {error.sqlstate})" if error.sqlstate else ""
        super().__init__(
            "migration_failed",
            f"{display_path(file.path)}:{line}: {reason}{sqlstate}",
            hint,
            exit_code=ExitCode.FAILURE,
        )


def read_history(conn: Connection) -> list[AppliedMigration]:
    """The applied migrations by version; empty when schema_migrations does not exist yet."""
    from psycopg.rows import class_row

    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return []
    with conn.cursor(row_factory=class_row(AppliedMigration)) as cursor:
        cursor.execute(
            "SELECT version, name, checksum, applied_at, duration_ms FROM schema_migrations ORDER BY version"
        )
        return cursor.fetchall()


def ensure_history_table(conn: Connection) -> None:
    conn.execute(HISTORY_DDL)


def history_statement(script: MigrationScript, direction: Direction, duration_ms: int) -> sql.Composed:
    """The bookkeeping statement that commits with a migration: record it (up) or forget it (down)."""
    from psycopg import sql

    if direction == "up":
        return sql.SQL(
            "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES ({}, {}, {}, {})"
        ).format(
            sql.Literal(script.version),
            sql.Literal(script.name),
            sql.Literal(script.checksum),
            sql.Literal(duration_ms),
        )
    return sql.SQL("DELETE FROM schema_migrations WHERE version = {}").format(sql.Literal(script.version))


@contextmanager
def migration_lock(conn: Connection, timeout_seconds: float) -> Iterator[None]:
    """Hold the migration advisory lock, waiting at most `timeout_seconds` (0: one try) for it.

    Polls pg_try_advisory_lock instead of blocking in pg_advisory_lock: a session blocked in a statement
    is an open transaction, and CREATE INDEX CONCURRENTLY in the lock holder's migration would wait for
    it to end while it waits for the lock, a deadlock.
    """
    deadline = time.monotonic() + timeout_seconds
    while not _try_lock(conn):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PaysimError(
                "migration_lock_timeout",
                f"another migration holds the lock{_lock_holder(conn)}; gave up after {timeout_seconds:g} s",
                "wait for it to finish and rerun, or raise --lock-timeout",
                exit_code=ExitCode.CONFLICT,
            )
        time.sleep(min(LOCK_POLL_SECONDS, remaining))
    try:
        yield
    finally:
        if not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def _try_lock(conn: Connection) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
    return bool(row and row[0])


def _lock_holder(conn: Connection) -> str:
    row = conn.execute(
        "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
        (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF),
    ).fetchone()
    return "" if row is None else f" (backend pid {row[0]}, application {row[1] or 'unnamed'!r})"


def execute_file(conn: Connection, file: MigrationSql, hint: str) -> psycopg.Cursor[tuple[Any, ...]] | None:
    """Run the file's statements in order; the cursor of the last one, for verify scripts' results."""
    import psycopg

    cursor = None
    for statement in file.statements:
        try:
            cursor = conn.execute(statement.text)
        except psycopg.Error as error:
            raise SqlFileError(file, statement, error, hint) from error
    return cursor


def run_migration(
    conn: Connection,
    script: MigrationScript,
    file: MigrationSql,
    direction: Direction,
) -> int:
    """Run one migration file and its bookkeeping, atomically unless the file opts out; its duration."""
    if file.transactional:
        hint = "nothing from this file was applied: fix it and rerun"
    else:
        hint = (
            "this file runs outside a transaction, so the statements before that line stay applied: "
            "make them safe to rerun (IF NOT EXISTS), fix the file and rerun"
        )
    started = time.perf_counter()
    with conn.transaction() if file.transactional else nullcontext():
        execute_file(conn, file, hint)
        duration_ms = round((time.perf_counter() - started) * 1000)
        conn.execute(history_statement(script, direction, duration_ms))
    return duration_ms

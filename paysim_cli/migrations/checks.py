"""What `paysim db verify` checks: the applied migrations' objects exist and their verify scripts pass."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from paysim_cli.migrations.models import VerifyCheck
from paysim_cli.migrations.runtime import SqlFileError, execute_file
from paysim_cli.migrations.script import MigrationScript, read_sql
from paysim_cli.migrations.statements import Statement

if TYPE_CHECKING:
    from paysim_cli.db import Connection

ObjectKind = Literal["table", "index", "view", "sequence", "function"]

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})?"
_CREATE = re.compile(
    r"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?(?:UNLOGGED\s+)?(?P<kind>TABLE|INDEX|VIEW|"
    r"MATERIALIZED\s+VIEW|SEQUENCE|FUNCTION|PROCEDURE)\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>{_NAME})(?:\s+ON\s+(?:ONLY\s+)?(?P<table>{_NAME}))?",
    re.IGNORECASE,
)
_DROP = re.compile(
    r"^DROP\s+(?P<kind>TABLE|INDEX|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|FUNCTION|PROCEDURE)\s+"
    r"(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?P<names>.*?)(?:\s+(?:CASCADE|RESTRICT))?$",
    re.IGNORECASE | re.DOTALL,
)
_RENAME = re.compile(
    r"^ALTER\s+(?P<kind>TABLE|INDEX|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|FUNCTION|PROCEDURE)\s+"
    rf"(?:IF\s+EXISTS\s+)?(?P<name>{_NAME})(?:\s*\([^)]*\))?\s+RENAME\s+TO\s+(?P<new>{_IDENT})\s*$",
    re.IGNORECASE,
)
_ARGUMENTS = re.compile(r"\([^)]*\)")
_OBJECT_KINDS: dict[str, ObjectKind] = {
    "table": "table",
    "index": "index",
    "view": "view",
    "sequence": "sequence",
    "function": "function",
    "procedure": "function",
}
_RELKINDS: dict[ObjectKind, list[str]] = {
    "table": ["r", "p"],
    "index": ["i", "I"],
    "view": ["v", "m"],
    "sequence": ["S"],
}


@dataclass(frozen=True)
class ExpectedObject:
    """An object a migration creates; `table` is the table an index is on (dropping it drops the index)."""

    kind: ObjectKind
    schema: str | None
    name: str
    created_by: str
    table: tuple[str | None, str] | None = None

    @property
    def key(self) -> tuple[str | None, str]:
        return self.schema, self.name

    @property
    def display(self) -> str:
        return f"{self.kind} {self.name if self.schema is None else f'{self.schema}.{self.name}'}"


def expected_objects(scripts: Sequence[MigrationScript]) -> list[ExpectedObject]:
    """Tables, indexes, views, sequences and functions the scripts' up files leave behind, in order.

    Follows CREATE, DROP and ALTER ... RENAME TO; objects made by dynamic SQL are not seen.
    """
    objects: dict[tuple[ObjectKind, str | None, str], ExpectedObject] = {}
    for script in scripts:
        for statement in read_sql(script.up_path).statements:
            _apply(objects, statement, script.label)
    return list(objects.values())


def _apply(
    objects: dict[tuple[ObjectKind, str | None, str], ExpectedObject], statement: Statement, label: str
) -> None:
    text = statement.text
    if created := _CREATE.match(text):
        kind = _kind(created["kind"])
        schema, name = qualified_name(created["name"])
        if kind == "index" and name == "on":  # CREATE INDEX ON t (...): PostgreSQL picks the name
            return
        table = qualified_name(created["table"]) if created["table"] else None
        objects[(kind, schema, name)] = ExpectedObject(kind, schema, name, label, table)
    elif dropped := _DROP.match(text):
        kind = _kind(dropped["kind"])
        for written in re.findall(_NAME, _ARGUMENTS.sub("", dropped["names"])):
            key = qualified_name(written)
            objects.pop((kind, *key), None)
            if kind == "table":
                for other in [item for item in objects.values() if item.table == key]:
                    objects.pop((other.kind, *other.key))
    elif renamed := _RENAME.match(text):
        kind = _kind(renamed["kind"])
        schema, name = qualified_name(renamed["name"])
        old = objects.pop((kind, schema, name), None)
        if old is not None:
            new_name = qualified_name(renamed["new"])[1]
            objects[(kind, schema, new_name)] = ExpectedObject(kind, schema, new_name, label, old.table)


def _kind(written: str) -> ObjectKind:
    return _OBJECT_KINDS[written.rsplit(maxsplit=1)[-1].lower()]  # MATERIALIZED VIEW is a view


def qualified_name(written: str) -> tuple[str | None, str]:
    """(schema or None, name) as PostgreSQL folds them: unquoted lower-cased, quoted kept as written."""
    parts = [_fold(part.strip()) for part in re.findall(_IDENT, written)]
    return (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def _fold(identifier: str) -> str:
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier.lower()


def check_objects(conn: Connection, objects: Sequence[ExpectedObject]) -> list[VerifyCheck]:
    """One check per expected object: present (and, for an index, valid) in the database."""
    checks: list[VerifyCheck] = []
    for item in objects:
        row = conn.execute(
            _FUNCTION_PRESENT if item.kind == "function" else _RELATION_PRESENT,
            {"schema": item.schema, "name": item.name, "kinds": _RELKINDS.get(item.kind, [])},
        ).fetchone()
        present = bool(row and row[0])
        checks.append(
            VerifyCheck(
                kind="object",
                name=item.display,
                ok=present,
                detail="present" if present else f"missing or invalid (created by {item.created_by})",
            )
        )
    return checks


_VISIBLE = "CASE WHEN %(schema)s::text IS NULL THEN {visible} ELSE n.nspname = %(schema)s END"
_RELATION_PRESENT = (
    "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_index i ON i.indexrelid = c.oid "
    "WHERE c.relname = %(name)s AND c.relkind::text = ANY(%(kinds)s) AND coalesce(i.indisvalid, true) "
    f"AND {_VISIBLE.format(visible='pg_table_is_visible(c.oid)')})"
)
_FUNCTION_PRESENT = (
    "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    f"WHERE p.proname = %(name)s AND {_VISIBLE.format(visible='pg_function_is_visible(p.oid)')})"
)


def run_verify_script(conn: Connection, path: Path) -> VerifyCheck:
    """Run a verify script read-only and rolled back: it passes when it raises nothing and its last
    statement returns no result set (a DO block) or at least one row whose every value is true."""
    file = read_sql(path)
    name = path.name
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SET TRANSACTION READ ONLY")
            cursor = execute_file(conn, file, "")
            rows = cursor.fetchall() if cursor is not None and cursor.description is not None else None
    except SqlFileError as error:
        return VerifyCheck(kind="script", name=name, ok=False, detail=error.message)
    if rows is None:
        return VerifyCheck(kind="script", name=name, ok=True, detail="ran without error")
    if not rows:
        return VerifyCheck(kind="script", name=name, ok=False, detail="its last query returned no rows")
    if any(value is not True for row in rows for value in row):
        return VerifyCheck(kind="script", name=name, ok=False, detail="its last query returned false or NULL")
    return VerifyCheck(kind="script", name=name, ok=True, detail=f"{len(rows)} row(s), all true")

"""Fixtures for migration tests: settings on a fresh database, scratch sql dirs, catalog snapshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from paysim_cli.settings import Settings

# Everything a migration can leave behind in the catalog, each as sorted rows (storage parameters
# such as fillfactor included).
_CATALOG_QUERIES = {
    "relations": """
        SELECT n.nspname, c.relname, c.relkind::text, c.relpersistence::text, c.relispartition,
               coalesce(pg_get_expr(c.relpartbound, c.oid), ''),
               coalesce(obj_description(c.oid, 'pg_class'), ''),
               coalesce(array_to_string(c.reloptions, ','), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'""",
    # Column order, not ordinal_position: a column dropped and added again keeps its old slot's gap.
    "columns": """
        SELECT table_schema, table_name, column_name,
               rank() OVER (PARTITION BY table_schema, table_name ORDER BY ordinal_position),
               data_type, udt_name, is_nullable,
               coalesce(column_default, ''), is_identity, coalesce(identity_generation, ''),
               coalesce(
                   col_description(format('%I.%I', table_schema, table_name)::regclass, ordinal_position), ''
               )
        FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')""",
    "indexes": """
        SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)""",
    "functions": """
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        FROM pg_trigger WHERE NOT tgisinternal""",
    "views": """
        SELECT schemaname, viewname, definition FROM pg_views
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')""",
    "types": """
        SELECT n.nspname, t.typname, t.typtype::text
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'""",
}

CatalogSnapshot = dict[str, list[tuple[object, ...]]]


@pytest.fixture
def db_settings(settings: Settings, database_url: str) -> Settings:
    """Settings pointing at this test's fresh, empty database."""
    return settings.override(database_url=database_url)


@pytest.fixture
def catalog_snapshot(database_url: str) -> Callable[[], CatalogSnapshot]:
    """Takes a snapshot of the database's catalog: tables, columns, indexes, constraints, functions..."""

    def snapshot() -> CatalogSnapshot:
        with psycopg.connect(database_url) as conn:
            return {name: sorted(conn.execute(query).fetchall()) for name, query in _CATALOG_QUERIES.items()}

    return snapshot


@pytest.fixture
def sql_dir(tmp_path: Path) -> Callable[..., Path]:
    """Writes a scratch migration directory from {file name: SQL} and returns it."""

    def write(files: dict[str, str]) -> Path:
        directory = tmp_path / "sql"
        directory.mkdir(exist_ok=True)
        for name, text in files.items():
            (directory / name).write_text(text, encoding="utf-8")
        return directory

    return write


@pytest.fixture
def query(database_url: str) -> Callable[..., list[tuple[object, ...]]]:
    """Runs one query on the test database (autocommit) and returns its rows."""

    def run(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with psycopg.connect(database_url, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    return run

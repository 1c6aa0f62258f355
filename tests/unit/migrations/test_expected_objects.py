"""Which objects `paysim db verify` expects, read from the applied migrations' up files."""

from __future__ import annotations

from pathlib import Path

from paysim_cli.migrations.checks import expected_objects, qualified_name
from paysim_cli.migrations.script import default_sql_dir, load_scripts


def expected(tmp_path: Path, *files: str) -> list[str]:
    directory = tmp_path / "sql"
    directory.mkdir()
    for number, text in enumerate(files, start=1):
        (directory / f"{number:04d}_step.up.sql").write_text(text, encoding="utf-8")
    return [item.display for item in expected_objects(load_scripts(directory))]


def test_creates_of_every_kind_are_expected(tmp_path: Path) -> None:
    assert expected(
        tmp_path,
        """
        CREATE TABLE IF NOT EXISTS Accounts (id int);
        CREATE UNLOGGED TABLE scratch (id int);
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_id ON ONLY accounts (id);
        CREATE INDEX ON accounts (id);
        CREATE OR REPLACE VIEW "Mixed Case" AS SELECT 1;
        CREATE MATERIALIZED VIEW ledger.totals AS SELECT 1;
        CREATE SEQUENCE ids;
        CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql RETURN a;
        CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$;
        CREATE TRIGGER t BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION f();
        """,
    ) == [
        "table accounts",
        "table scratch",
        "index accounts_id",
        "view Mixed Case",
        "view ledger.totals",
        "sequence ids",
        "function f",
        "function p",
    ]


def test_later_drops_and_renames_are_followed(tmp_path: Path) -> None:
    assert expected(
        tmp_path,
        "CREATE TABLE a (id int); CREATE INDEX a_idx ON a (id); CREATE TABLE b (id int);"
        " CREATE TABLE c (id int);",
        "CREATE FUNCTION f(x numeric(10, 2)) RETURNS int LANGUAGE sql RETURN 1; CREATE VIEW v AS SELECT 1;",
        "DROP TABLE IF EXISTS a, b CASCADE; DROP FUNCTION f(numeric(10, 2)); ALTER TABLE c RENAME TO d;",
        "ALTER VIEW v RENAME TO w; ALTER TABLE d RENAME COLUMN id TO key; ALTER TABLE missing RENAME TO x;",
    ) == ["table d", "view w"]


def test_names_fold_like_postgresql() -> None:
    assert qualified_name("Accounts") == (None, "accounts")
    assert qualified_name('"Accounts"') == (None, "Accounts")
    assert qualified_name('Ledger . "Odd ""Name"""') == ("ledger", 'Odd "Name"')


def test_the_project_schema_expects_its_pipeline_tables() -> None:
    names = {item.display for item in expected_objects(load_scripts(default_sql_dir()))}
    assert {
        "table payment_metrics_5m",
        "table aggregate_histograms",
        "table dynamic_metrics",
        "table failed_items",
        "table partition_checkpoints",
        "table processed_transactions",
        "table merchant_clusters",
        "function paysim_ensure_dedupe_partitions",
        "function paysim_drop_dedupe_partitions",
    } <= names
    assert "index payment_metrics_5m_updated_at_idx" not in names  # created by 0005, dropped by 0010
    assert not any("normalized" in name.lower() or any(c.isupper() for c in name) for name in names)

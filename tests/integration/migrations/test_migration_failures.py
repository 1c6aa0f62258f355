"""How migrations fail: atomically, naming file and line; outside a transaction only when asked."""

from __future__ import annotations

import pytest
from project_migrations import LATEST, PROJECT_VERSIONS

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.migrations import downgrade, status, upgrade, verify

GOOD = "CREATE TABLE accounts (id bigint PRIMARY KEY);\n"
BROKEN = """-- 0002_broken: the second statement is wrong.
CREATE TABLE ledger (id bigint PRIMARY KEY);

INSERT INTO ledger (id)
SELECT id FROM no_such_table;
"""


def test_a_broken_migration_leaves_schema_and_history_untouched(
    db_settings, sql_dir, catalog_snapshot, query
) -> None:
    directory = sql_dir({"0001_accounts.up.sql": GOOD, "0002_broken.up.sql": BROKEN})
    upgrade(db_settings, 1, sql_dir=directory)
    before = catalog_snapshot()
    with pytest.raises(PaysimError) as raised:
        upgrade(db_settings, sql_dir=directory)
    error = raised.value
    assert error.code == "migration_failed"
    assert error.exit_code == ExitCode.FAILURE
    assert error.message.startswith("sql/0002_broken.up.sql:5: ")  # the line naming no_such_table
    assert 'relation "no_such_table" does not exist (SQLSTATE 42P01)' in error.message
    assert "nothing from this file was applied" in (error.hint or "")
    assert catalog_snapshot() == before
    assert query("SELECT version FROM schema_migrations") == [(1,)]


def test_an_error_without_a_position_names_the_statement_line(db_settings, sql_dir) -> None:
    directory = sql_dir({"0001_divide.up.sql": "SELECT 1;\n\n  SELECT\n 1 / 0;\n"})
    with pytest.raises(PaysimError, match=r"^sql/0001_divide\.up\.sql:3: division by zero"):
        upgrade(db_settings, sql_dir=directory)


def test_no_transaction_files_run_statement_by_statement(db_settings, sql_dir, query) -> None:
    concurrent = (
        "-- paysim:no-transaction\n"
        "CREATE INDEX CONCURRENTLY accounts_id_idx ON accounts (id);\n"
        "CREATE TABLE audit (id bigint);\n"
        "SELECT 1 / 0;\n"
    )
    directory = sql_dir({"0001_accounts.up.sql": GOOD, "0002_concurrent.up.sql": concurrent})
    plan = upgrade(db_settings, dry_run=True, sql_dir=directory)
    assert [step.transactional for step in plan.steps] == [True, False]
    assert "0002_concurrent up: sql/0002_concurrent.up.sql, outside a transaction" in (plan.sql or "")
    with pytest.raises(PaysimError) as raised:
        upgrade(db_settings, sql_dir=directory)
    assert raised.value.message.startswith("sql/0002_concurrent.up.sql:4: division by zero")
    assert "statements before that line stay applied" in (raised.value.hint or "")
    # Outside a transaction, what ran before the failure stays; the version is not recorded.
    assert query("SELECT to_regclass('accounts_id_idx') IS NOT NULL, to_regclass('audit') IS NOT NULL") == [
        (True, True)
    ]
    assert query("SELECT version FROM schema_migrations") == [(1,)]


def test_the_same_statement_inside_a_transaction_is_refused_by_postgresql(db_settings, sql_dir) -> None:
    index = "CREATE INDEX CONCURRENTLY accounts_id_idx ON accounts (id);\n"
    directory = sql_dir({"0001_accounts.up.sql": GOOD, "0002_index.up.sql": index})
    with pytest.raises(PaysimError, match="cannot run inside a transaction block"):
        upgrade(db_settings, sql_dir=directory)


def test_a_file_that_commits_by_itself_is_refused_before_anything_runs(db_settings, sql_dir, query) -> None:
    directory = sql_dir({"0001_accounts.up.sql": GOOD, "0002_commits.up.sql": "BEGIN;\nSELECT 1;\nCOMMIT;\n"})
    with pytest.raises(PaysimError) as raised:
        upgrade(db_settings, sql_dir=directory)
    assert (raised.value.code, raised.value.exit_code) == ("invalid_migration_file", ExitCode.CONFIG)
    assert query("SELECT version FROM schema_migrations") == []


def test_a_missing_down_file_fails_before_anything_is_reverted(db_settings, sql_dir, query) -> None:
    directory = sql_dir(
        {
            "0001_accounts.up.sql": GOOD,
            "0002_audit.up.sql": "CREATE TABLE audit (id bigint);\n",
            "0002_audit.down.sql": "DROP TABLE audit;\n",
        }
    )
    upgrade(db_settings, sql_dir=directory)
    with pytest.raises(PaysimError) as raised:
        downgrade(db_settings, target=0, sql_dir=directory)
    assert (raised.value.code, raised.value.exit_code) == ("missing_down_migration", ExitCode.CONFIG)
    assert "0001_accounts has no down file" in raised.value.message
    assert query("SELECT version FROM schema_migrations ORDER BY version") == [(1,), (2,)]


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (lambda s, d: upgrade(s, 7, sql_dir=d), "there is no migration 0007"),
        (lambda s, d: upgrade(s, 1, sql_dir=d), "use `paysim db rollback --to 1`"),
        (lambda s, d: downgrade(s, sql_dir=d), "exactly one of --steps N or --to VERSION"),
        (lambda s, d: downgrade(s, steps=1, target=1, sql_dir=d), "exactly one of"),
        (lambda s, d: downgrade(s, steps=3, sql_dir=d), "cannot revert 3 migrations: 2 are applied"),
        (lambda s, d: downgrade(s, target=5, sql_dir=d), "0005 is not an applied version"),
    ],
)
def test_impossible_targets_are_usage_errors(db_settings, sql_dir, operation, message) -> None:
    directory = sql_dir(
        {
            "0001_accounts.up.sql": GOOD,
            "0001_accounts.down.sql": "DROP TABLE accounts;\n",
            "0002_audit.up.sql": "CREATE TABLE audit (id bigint);\n",
            "0002_audit.down.sql": "DROP TABLE audit;\n",
        }
    )
    upgrade(db_settings, sql_dir=directory)
    with pytest.raises(PaysimError, match=message) as raised:
        operation(db_settings, directory)
    assert (raised.value.code, raised.value.exit_code) == ("invalid_migration_target", ExitCode.USAGE)


def test_dry_runs_change_nothing(db_settings, catalog_snapshot) -> None:
    empty = catalog_snapshot()
    plan = upgrade(db_settings, dry_run=True)
    assert plan.dry_run
    assert [step.version for step in plan.steps] == PROJECT_VERSIONS
    assert all(step.duration_ms is None for step in plan.steps)
    sql = plan.sql or ""
    assert sql.startswith("CREATE TABLE IF NOT EXISTS schema_migrations")
    assert sql.index("CREATE TABLE payment_metrics_5m") < sql.index("CREATE TABLE failed_items")
    assert (
        "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES (1, 'payment_metrics'"
        in sql
    )
    assert catalog_snapshot() == empty  # not even schema_migrations

    upgrade(db_settings)
    migrated = catalog_snapshot()
    plan = downgrade(db_settings, target=0, dry_run=True)
    assert [step.version for step in plan.steps] == PROJECT_VERSIONS[::-1]
    assert f"DELETE FROM schema_migrations WHERE version = {LATEST};" in (plan.sql or "")
    assert catalog_snapshot() == migrated
    assert (
        upgrade(db_settings, dry_run=True).sql
        == f"-- nothing to run: the database is at version {LATEST:04d}\n"
    )


def test_an_edited_applied_file_is_drift_for_status_verify_and_migrate(db_settings, sql_dir) -> None:
    directory = sql_dir({"0001_accounts.up.sql": GOOD})
    upgrade(db_settings, sql_dir=directory)
    (directory / "0001_accounts.up.sql").write_text(GOOD + "-- edited\n", encoding="utf-8")
    (directory / "0002_audit.up.sql").write_text("CREATE TABLE audit (id bigint);\n", encoding="utf-8")

    report = status(db_settings, sql_dir=directory)
    assert [(item.version, item.kind) for item in report.drift] == [(1, "checksum_mismatch")]
    assert [item.version for item in report.pending] == [2]
    for operation in (
        lambda: verify(db_settings, sql_dir=directory),
        lambda: upgrade(db_settings, sql_dir=directory),
        lambda: upgrade(db_settings, dry_run=True, sql_dir=directory),
        lambda: downgrade(db_settings, steps=1, sql_dir=directory),
    ):
        with pytest.raises(PaysimError) as raised:
            operation()
        assert (raised.value.code, raised.value.exit_code) == ("schema_drift", ExitCode.DRIFT)
        assert "0001_accounts: checksum_mismatch" in raised.value.message
    assert status(db_settings, sql_dir=directory).pending[0].version == 2  # migrate refused to run


def test_verify_fails_on_a_missing_object_and_on_failing_verify_scripts(db_settings, sql_dir, query) -> None:
    directory = sql_dir(
        {
            "0001_accounts.up.sql": GOOD + "CREATE INDEX accounts_id_idx ON accounts (id);\n",
            "0001_accounts.verify.sql": "SELECT count(*) = 0 FROM accounts;\n",
            "0002_audit.up.sql": "CREATE TABLE audit (id bigint);\n",
            "0002_audit.verify.sql": "DO $$ BEGIN PERFORM 1; END $$;\n",
        }
    )
    upgrade(db_settings, sql_dir=directory)
    report = verify(db_settings, sql_dir=directory)
    assert [(check.kind, check.name, check.ok) for check in report.checks] == [
        ("object", "table accounts", True),
        ("object", "index accounts_id_idx", True),
        ("object", "table audit", True),
        ("script", "0001_accounts.verify.sql", True),
        ("script", "0002_audit.verify.sql", True),
    ]
    query("INSERT INTO accounts VALUES (1)")
    query("DROP TABLE audit")
    with pytest.raises(PaysimError) as raised:
        verify(db_settings, sql_dir=directory)
    assert (raised.value.code, raised.value.exit_code) == ("verify_failed", ExitCode.VERIFY_FAILED)
    assert raised.value.message.startswith("2 of 5 checks failed: ")
    assert "table audit: missing or invalid (created by 0002_audit)" in raised.value.message
    assert "0001_accounts.verify.sql: its last query returned false or NULL" in raised.value.message
    assert "0002_audit.verify.sql" not in raised.value.message  # a DO block that raises nothing passes


@pytest.mark.parametrize(
    ("script", "detail"),
    [
        ("SELECT NULL::boolean;\n", "returned false or NULL"),
        ("SELECT true WHERE false;\n", "returned no rows"),
        ("SELECT true;\nSELECT missing_column FROM accounts;\n", "0001_accounts.verify.sql:2: column"),
        ("CREATE TABLE sneaky (id int);\n", "read-only transaction"),
    ],
)
def test_verify_scripts_fail_on_null_no_rows_errors_and_writes(db_settings, sql_dir, script, detail) -> None:
    directory = sql_dir({"0001_accounts.up.sql": GOOD, "0001_accounts.verify.sql": script})
    upgrade(db_settings, sql_dir=directory)
    with pytest.raises(PaysimError, match=detail):
        verify(db_settings, sql_dir=directory)

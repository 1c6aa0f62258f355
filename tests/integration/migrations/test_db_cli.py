"""`paysim db` as a user runs it: exit codes, human output, `--json` data and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_results import json_data, json_error
from project_migrations import LATEST, PROJECT_VERSIONS

from paysim_cli.errors import ExitCode
from paysim_cli.local.processes import free_port


def test_migrate_rollback_migrate_verify_on_a_fresh_database(cli, database_url: str) -> None:
    url = ("--database-url", database_url)
    migrated = json_data(cli("db", "migrate", "--json", *url))
    assert [step["version"] for step in migrated["steps"]] == PROJECT_VERSIONS
    assert (migrated["from_version"], migrated["to_version"]) == (0, LATEST)

    rolled_back = json_data(cli("db", "rollback", "--to", "0", "--json", *url))
    assert [step["version"] for step in rolled_back["steps"]] == PROJECT_VERSIONS[::-1]

    again = cli("db", "migrate", *url)
    assert again.exit_code == 0, again.output
    assert f"database at version {LATEST:04d} (was 0000)" in again.stdout

    verified = cli("db", "verify", *url)
    assert verified.exit_code == 0, verified.output
    assert "verified: no drift" in verified.stdout
    assert "table processed_transactions" in verified.stdout

    status = cli("db", "status", *url)
    assert status.exit_code == 0, status.output
    assert "no drift; 0 pending" in status.stdout
    assert json_data(cli("db", "status", "--json", *url))["current_version"] == LATEST


def test_database_url_comes_from_the_environment_too(cli, database_url: str) -> None:
    result = cli("db", "status", "--json", env={"PAYSIM_DATABASE_URL": database_url})
    assert len(json_data(result)["pending"]) == len(PROJECT_VERSIONS)


def test_no_database_and_no_local_stack_is_one_clear_error(cli) -> None:
    error = json_error(cli("db", "status", "--json"), ExitCode.UNAVAILABLE)
    assert error == {
        "code": "database_not_configured",
        "message": "no database to connect to: no local stack is running and no database URL is set",
        "hint": "run `paysim local up`, or pass --database-url",
    }


def test_an_unreachable_database_is_one_line_with_the_password_masked(cli) -> None:
    url = f"postgresql://paysim:s3cret-pw@127.0.0.1:{free_port()}/paysim"
    result = cli("db", "migrate", "--database-url", url)
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith(
        "error [database_unreachable]: cannot connect to PostgreSQL at 127.0.0.1:"
    )
    assert len(result.stderr.splitlines()) == 2  # the error line and its hint
    assert "s3cret-pw" not in result.output


def test_dry_run_prints_the_sql_and_changes_nothing(cli, database_url: str, query) -> None:
    result = cli("db", "migrate", "--dry-run", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert "-- 0005_metrics_freshness_index up: " in result.stdout
    assert "outside a transaction (paysim:no-transaction)" in result.stdout
    assert "CREATE INDEX CONCURRENTLY payment_metrics_5m_updated_at_idx" in result.stdout
    assert query("SELECT to_regclass('schema_migrations')") == [(None,)]


def test_a_failing_migration_exits_1_naming_file_and_line(cli, database_url: str, sql_dir) -> None:
    directory = sql_dir({"0001_typo.up.sql": "-- a typo on line 2\nCREATE TABLEE accounts (id int);\n"})
    result = cli("db", "migrate", "--json", "--sql-dir", str(directory), "--database-url", database_url)
    error = json_error(result, ExitCode.FAILURE)
    assert error["code"] == "migration_failed"
    assert error["message"] == 'sql/0001_typo.up.sql:2: syntax error at or near "TABLEE" (SQLSTATE 42601)'


def test_drift_is_shown_by_status_and_fails_verify_and_migrate(cli, database_url: str, sql_dir) -> None:
    directory = sql_dir({"0001_accounts.up.sql": "CREATE TABLE accounts (id int);\n"})
    args = ("--sql-dir", str(directory), "--database-url", database_url)
    json_data(cli("db", "migrate", "--json", *args))
    (directory / "0001_accounts.up.sql").write_text("CREATE TABLE accounts (id bigint);\n", encoding="utf-8")

    status = cli("db", "status", *args)
    assert status.exit_code == 0, status.output
    assert "drift: 0001_accounts: checksum_mismatch: 0001_accounts.up.sql changed after it was applied" in (
        status.stdout
    )
    assert json_error(cli("db", "verify", "--json", *args), ExitCode.DRIFT)["code"] == "schema_drift"
    assert json_error(cli("db", "migrate", "--json", *args), ExitCode.DRIFT)["code"] == "schema_drift"


def test_verify_failures_exit_7(cli, database_url: str, query) -> None:
    json_data(cli("db", "migrate", "--json", "--database-url", database_url))
    query("DROP INDEX failed_items_created_at_idx")
    error = json_error(cli("db", "verify", "--json", "--database-url", database_url), ExitCode.VERIFY_FAILED)
    assert error["code"] == "verify_failed"
    assert (
        "index failed_items_created_at_idx: missing or invalid (created by 0002_failed_items)"
        in (error["message"])
    )


def test_rollback_steps_and_its_failure_modes(cli, database_url: str, sql_dir) -> None:
    url = ("--database-url", database_url)
    json_data(cli("db", "migrate", "--to", "2", "--json", *url))
    assert [
        step["version"] for step in json_data(cli("db", "rollback", "--steps", "1", "--json", *url))["steps"]
    ] == [2]
    error = json_error(cli("db", "rollback", "--json", *url), ExitCode.USAGE)
    assert error["code"] == "invalid_migration_target"

    renamed = sql_dir({"0001_accounts.up.sql": "CREATE TABLE accounts (id int);\n"})
    args = ("--sql-dir", str(renamed), "--database-url", database_url)
    error = json_error(cli("db", "rollback", "--steps", "1", "--json", *args), ExitCode.DRIFT)
    assert (
        "0001_payment_metrics: renamed (applied as payment_metrics, the file is now 0001_accounts)"
        in (error["message"])
    )


def test_a_missing_down_file_exits_3(cli, database_url: str, sql_dir) -> None:
    directory = sql_dir({"0001_accounts.up.sql": "CREATE TABLE accounts (id int);\n"})
    args = ("--sql-dir", str(directory), "--database-url", database_url)
    json_data(cli("db", "migrate", "--json", *args))
    error = json_error(cli("db", "rollback", "--to", "0", "--json", *args), ExitCode.CONFIG)
    assert error["code"] == "missing_down_migration"


def test_misnamed_migration_files_exit_3(cli, database_url: str, sql_dir) -> None:
    directory = sql_dir({"0001_accounts.up.sql": "SELECT 1;\n", "2_Bad-Name.sql": "SELECT 1;\n"})
    result = cli("db", "status", "--json", "--sql-dir", str(directory), "--database-url", database_url)
    error = json_error(result, ExitCode.CONFIG)
    assert error["code"] == "invalid_migration_files"
    assert "2_Bad-Name.sql is not named NNNN_snake_name.(up|down|verify).sql" in error["message"]


def test_new_scaffolds_the_next_pair(cli, sql_dir) -> None:
    directory = sql_dir({"0001_accounts.up.sql": "SELECT 1;\n", "0001_accounts.down.sql": "SELECT 1;\n"})
    result = cli("db", "new", "add_audit_log", "--sql-dir", str(directory))
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip() == "created sql/0002_add_audit_log.up.sql and sql/0002_add_audit_log.down.sql"
    )
    assert (
        (directory / "0002_add_audit_log.up.sql")
        .read_text(encoding="utf-8")
        .startswith("-- 0002_add_audit_log: ")
    )
    data = json_data(cli("db", "new", "second", "--json", "--sql-dir", str(directory)))
    assert data == {
        "version": 3,
        "name": "second",
        "up_file": "sql/0003_second.up.sql",
        "down_file": "sql/0003_second.down.sql",
    }
    error = json_error(cli("db", "new", "Bad Name", "--json", "--sql-dir", str(directory)), ExitCode.USAGE)
    assert error["code"] == "invalid_migration_name"


def test_entra_authentication_failure_exits_9(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class NoCredential:  # Entra ID cannot be reached from here; this stands in for an unsigned-in machine
        def get_token(self, scope: str) -> object:
            raise ClientAuthenticationError(f"no credential for {scope}")

    monkeypatch.setattr("azure.identity.DefaultAzureCredential", NoCredential)
    url = "postgresql://paysim_admin@psql-paysim-dev.postgres.database.azure.com:5432/paysim"
    result = cli("db", "status", "--json", env={"PAYSIM_DATABASE_URL": url, "PAYSIM_DATABASE_AUTH": "entra"})
    error = json_error(result, ExitCode.AUTH)
    assert error["code"] == "database_auth_failed"
    assert "ossrdbms-aad.database.windows.net" in error["message"]


def test_db_help_lists_every_verb(cli) -> None:
    result = cli("db", "--help")
    assert result.exit_code == 0
    for verb in ("status", "migrate", "rollback", "verify", "new"):
        assert verb in result.stdout


def test_sql_dir_that_does_not_exist_exits_3(cli, database_url: str, tmp_path: Path) -> None:
    result = cli(
        "db", "status", "--json", "--sql-dir", str(tmp_path / "nowhere"), "--database-url", database_url
    )
    assert json_error(result, ExitCode.CONFIG)["code"] == "sql_dir_not_found"


def test_human_output_shows_pending_migrations_and_when_there_is_nothing_to_do(
    cli, database_url: str
) -> None:
    url = ("--database-url", database_url)
    before = cli("db", "status", *url)
    assert before.exit_code == 0, before.output
    assert "pending, no transaction" in before.stdout  # 0005 runs outside a transaction
    assert f"no drift; {len(PROJECT_VERSIONS)} pending" in before.stdout
    assert cli("db", "migrate", *url).exit_code == 0
    again = cli("db", "migrate", *url)
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == f"nothing to do: the database is at version {LATEST:04d}"

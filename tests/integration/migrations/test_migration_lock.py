"""The advisory lock: concurrent migrates apply each version once; a blocked one gives up clearly."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import psycopg
import pytest
from project_migrations import PROJECT_VERSIONS

from paysim_cli.errors import ExitCode
from paysim_cli.migrations.runtime import LOCK_KEY

WAIT_LIMIT_SECONDS = 30.0


def _migrates_connected(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'paysim db migrate'"
        " AND datname = current_database()"
    ).fetchone()
    return int(row[0]) if row else 0


def test_two_concurrent_migrates_apply_each_version_once(database_url: str, tmp_path: Path, query) -> None:
    command = [
        sys.executable, "-m", "paysim_cli", "--state-dir", str(tmp_path / "state"),
        "db", "migrate", "--json", "--lock-timeout", str(WAIT_LIMIT_SECONDS), "--database-url", database_url,
    ]  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as holder:
        # Hold the lock until both processes are connected and trying for it, then let them race.
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        processes = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
            for _ in range(2)
        ]
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while _migrates_connected(holder) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _migrates_connected(holder) == 2
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        outputs = [process.communicate(timeout=WAIT_LIMIT_SECONDS) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    reports = [orjson.loads(stdout)["data"] for stdout, _ in outputs]
    applied = Counter(step["version"] for report in reports for step in report["steps"])
    assert applied == Counter(dict.fromkeys(PROJECT_VERSIONS, 1))
    # the second re-read the history
    assert sorted(len(report["steps"]) for report in reports) == [0, len(PROJECT_VERSIONS)]
    assert query("SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version") == [
        (version, 1) for version in PROJECT_VERSIONS
    ]


@pytest.mark.parametrize("lock_timeout", ["0", "0.05"])
def test_a_migrate_that_cannot_get_the_lock_fails_with_conflict(
    cli, database_url: str, query, lock_timeout
) -> None:
    with psycopg.connect(database_url, autocommit=True, application_name="other migrate") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        pid = holder.info.backend_pid
        result = cli(
            "db", "migrate", "--json", "--lock-timeout", lock_timeout, "--database-url", database_url
        )
    assert result.exit_code == ExitCode.CONFLICT, result.output
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "migration_lock_timeout"
    assert f"(backend pid {pid}, application 'other migrate')" in error["message"]
    assert query("SELECT to_regclass('payment_metrics_5m')") == [(None,)]

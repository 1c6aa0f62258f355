"""`paysim verify RUN_ID` on a real database, with hand-built manifests and pipeline rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
import pytest
from azure.storage.blob import ContainerClient
from typer.testing import Result

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.reconcile.verify import verify_run
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from conftest import Archive, Rows, WriteManifest

CliInvoker = Callable[..., Result]
RUN_ID = "20251128T000000000Z-s7"
WINDOW = datetime(2025, 11, 28, 0, 0, tzinfo=UTC)


def _differences(settings: Settings) -> list[tuple[str, str, int, int]]:
    report = verify_run(settings, RUN_ID)
    assert report.passed is not report.differences
    return [(item.kind, item.subject, item.expected, item.actual) for item in report.differences]


def test_an_exact_run_reconciles(
    cli: CliInvoker,
    db_settings: Settings,
    migrated_database_url: str,
    write_run: WriteManifest,
    pipeline_rows: Rows,
    archive_env: dict[str, str],
) -> None:
    write_run()
    pipeline_rows()
    result = cli("verify", RUN_ID, "--database-url", migrated_database_url, "--json", env=archive_env)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = orjson.loads(result.stdout)["data"]
    assert report["passed"] is True
    assert (report["sent"], report["processed"], report["failed"], report["duplicates_dropped"]) == (
        9,
        6,
        2,
        1,
    )
    assert {check["name"]: (check["expected"], check["actual"]) for check in report["checks"]} == {
        "processed": (6, 6),
        "failed_items": (2, 2),
        "duplicates_dropped": (1, 1),
        "fraud": (1, 1),
        "windows": (3, 3),
        "archive": (9, 9),
    }
    assert report["archived"] == 9
    human = cli("verify", RUN_ID, "--database-url", migrated_database_url, env=archive_env)
    assert human.exit_code == 0
    assert "reconciles exactly" in human.stdout


def test_totals_that_differ(db_settings: Settings, write_run: WriteManifest, pipeline_rows: Rows) -> None:
    write_run()
    pipeline_rows(processed=5, failed=1, duplicates=2, fraud=0)
    assert _differences(db_settings) == [
        ("total", "processed (= valid events sent)", 6, 5),
        ("total", "failed_items (= malformed events sent)", 2, 1),
        ("total", "duplicates_dropped (= duplicates sent (local log))", 1, 2),
        ("total", "fraud (= fraud events sent)", 1, 0),
    ]


def test_duplicates_are_a_lower_bound_off_the_local_log(
    db_settings: Settings, write_run: WriteManifest, pipeline_rows: Rows
) -> None:
    write_run(target="eventhub")
    pipeline_rows(duplicates=3)  # producer retries delivered two more identical copies
    assert verify_run(db_settings, RUN_ID).passed
    with psycopg.connect(str(db_settings.database_url)) as conn:
        conn.execute("UPDATE run_totals SET duplicates_dropped = 0")
    assert _differences(db_settings) == [
        ("total", "duplicates_dropped (>= duplicates sent (lower bound))", 1, 0)
    ]


def test_every_window_difference_is_listed(
    db_settings: Settings, write_run: WriteManifest, pipeline_rows: Rows
) -> None:
    write_run()
    pipeline_rows(
        cells=[
            (WINDOW, "card", "USD", "5411", "pos", "approved", 2, 6015),  # one event short
            (WINDOW, "card", "USD", "5411", "pos", "declined", 1, 251),  # one cent more
            (WINDOW, "card", "GBP", "5411", "pos", "declined", 1, 99),  # not sent
            # the wire payments' window is missing
        ]
    )
    assert _differences(db_settings) == [
        ("unexpected_window", "window 2025-11-28T00:00:00Z card GBP 5411 pos declined", 0, 1),
        ("window_count", "window 2025-11-28T00:00:00Z card USD 5411 pos approved count", 3, 2),
        ("window_amount", "window 2025-11-28T00:00:00Z card USD 5411 pos declined sum", 250, 251),
        ("missing_window", "window 2025-11-28T00:05:00Z wire EUR 6012 online_banking approved", 2, 0),
    ]
    windows = next(check for check in verify_run(db_settings, RUN_ID).checks if check.name == "windows")
    assert (windows.expected, windows.actual, windows.passed) == (3, 0, False)


def test_a_run_the_pipeline_has_not_seen(
    cli: CliInvoker,
    db_settings: Settings,
    migrated_database_url: str,
    write_run: WriteManifest,
    archive_env: dict[str, str],
) -> None:
    write_run()
    result = cli("verify", RUN_ID, "--database-url", migrated_database_url, "--json", env=archive_env)
    assert result.exit_code == ExitCode.VERIFY_FAILED
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "reconciliation_failed"
    assert error["message"].startswith(
        f"run {RUN_ID} does not reconcile: processed (= valid events sent): expected 6, found 0; "
    )
    assert error["message"].endswith("; and 5 more")
    assert len(error["report"]["differences"]) == 8
    assert error["report"]["first_commit_at"] is None
    assert "`paysim archive repair`" in error["hint"]
    human = cli("verify", RUN_ID, "--database-url", migrated_database_url, env=archive_env)
    assert human.exit_code == ExitCode.VERIFY_FAILED
    assert "8 differences" in human.stdout
    assert "error [reconciliation_failed]" in human.stderr


def test_a_long_difference_list_is_cut_for_people(
    cli: CliInvoker, db_settings: Settings, migrated_database_url: str, write_run: WriteManifest
) -> None:
    cells = [(WINDOW, "card", "USD", f"{mcc:04d}", "pos", "approved", 1, 100) for mcc in range(25)]
    write_run(cells=cells)
    human = cli("verify", RUN_ID, "--database-url", migrated_database_url, "--no-archive")
    assert "... and 9 more (--json lists them all)" in human.stdout


def test_a_missing_run(cli: CliInvoker, settings: Settings, write_run: WriteManifest) -> None:
    result = cli("verify", "20990101T000000000Z-s1", "--json")
    assert result.exit_code == ExitCode.CONFIG
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "run_not_found"
    assert error["hint"] == "`paysim simulate` writes a run and prints its id"
    write_run()
    with pytest.raises(PaysimError) as raised:
        verify_run(settings, "20990101T000000000Z-s1")
    assert raised.value.hint == f"recent runs: {RUN_ID} (`paysim runs list` shows them all)"


def test_a_broken_manifest(settings: Settings, write_run: WriteManifest) -> None:
    write_run().write_text('{"run_id": "cut short')
    with pytest.raises(PaysimError) as raised:
        verify_run(settings, RUN_ID)
    assert (raised.value.code, raised.value.exit_code) == ("invalid_manifest", ExitCode.CONFIG)


def test_a_database_without_the_per_run_tables(
    settings: Settings, database_url: str, write_run: WriteManifest
) -> None:
    write_run()
    with pytest.raises(PaysimError) as raised:
        verify_run(settings.override(database_url=database_url), RUN_ID)
    # Checked before any query: the message says how far behind the database is.
    assert (raised.value.code, raised.value.exit_code) == ("schema_not_migrated", ExitCode.CONFIG)
    assert re.search(r"is at version 0000: \d+ migrations pending", raised.value.message)
    assert raised.value.hint == "run `paysim db migrate` first"


def test_a_failing_verify_names_the_failed_item_codes_and_points_at_dlq(
    db_settings: Settings, write_run: WriteManifest, pipeline_rows: Rows
) -> None:
    write_run()
    pipeline_rows(processed=5, failed=3)
    failure = verify_run(db_settings, RUN_ID).failure()
    assert failure is not None
    assert failure.exit_code == ExitCode.VERIFY_FAILED
    assert failure.hint is not None
    assert failure.hint.startswith(
        f"its failed items: not_json (3); `paysim dlq list --run-id {RUN_ID}` shows them."
    )


def test_the_verdict_is_kept_beside_the_manifest(
    db_settings: Settings, write_run: WriteManifest, pipeline_rows: Rows
) -> None:
    from paysim_cli.runs.catalog import list_runs

    write_run()
    assert [run.state for run in list_runs(db_settings).runs] == ["not verified"]
    pipeline_rows()
    report = verify_run(db_settings, RUN_ID)
    assert (report.passed, report.failed_item_codes) == (True, {"not_json": 2})
    [run] = list_runs(db_settings).runs
    assert run.state == "reconciled"
    assert run.verification is not None
    assert (run.verification.processed, run.verification.failed_item_codes) == (6, {"not_json": 2})


def test_the_archive_must_hold_every_event_the_run_sent(
    db_settings: Settings, write_run: WriteManifest, pipeline_rows: Rows, archive: Archive
) -> None:
    write_run()
    pipeline_rows(archived=5)
    archive(db_settings, 2, partition_id="1", first=40)
    archive(db_settings, 2, partition_id="1", first=41)  # an overlapping blob: each event counts once
    with ContainerClient.from_connection_string(
        str(db_settings.blob_connection_string), db_settings.raw_events_container
    ) as container:
        container.upload_blob("payments/$Default/partition=2/damaged.ndjson.gz", b"not gzip")
    assert _differences(db_settings) == [
        (
            "unreadable_blob",
            "raw-events blob payments/$Default/partition=2/damaged.ndjson.gz cannot be read",
            1,
            0,
        ),
        ("total", "archive (= events sent, in the raw archive)", 9, 8),
    ]
    report = verify_run(db_settings, RUN_ID, archive=False)
    assert (report.passed, report.archived) == (True, None)
    assert "archive" not in {check.name for check in report.checks}


def test_a_blob_of_another_consumer_group_or_an_older_one_is_not_the_runs(
    db_settings: Settings, write_run: WriteManifest, pipeline_rows: Rows, archive: Archive
) -> None:
    write_run(target="eventhub")
    pipeline_rows(archived=9)
    archive(db_settings.override(consumer_group="$dlq"), 3, first=100)
    report = verify_run(db_settings, RUN_ID)
    assert (report.passed, report.archived) == (True, 9)
    assert verify_run(db_settings, RUN_ID, consumer_group="$dlq").archived == 3

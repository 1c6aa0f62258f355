"""`paysim dlq replay --via processor` on the real stack: fixable items count exactly once (also when
replayed twice), unfixable ones change no aggregate, duplicates are recorded as such, edited payloads
replay from a file, and a dry run changes nothing."""

from __future__ import annotations

import getpass
import gzip

import orjson
from azure.storage.blob import ContainerClient
from dlq_results import RUN_ID, data, error

from paysim_cli.errors import ExitCode


def _amounts(payloads: list[bytes]) -> int:
    return sum(orjson.loads(payload)["amount_minor"] for payload in payloads)


def test_items_failed_by_a_rule_since_changed_replay_into_the_metrics_exactly_once(
    cli, dlq_env, ingest, bodies, metrics, query
) -> None:
    payloads = bodies(40)
    outcome = ingest(payloads)  # the strict age rule at ingest: all 40 fail
    assert (outcome.processed, outcome.failed) == (0, 40)
    before = metrics()

    report = data(cli("dlq", "replay", "--batch-size", "15", "--json", env=dlq_env))
    assert (report["matched"], report["attempted"], report["processed"], report["failed"]) == (40, 40, 40, 0)
    assert (report["batches"], report["interrupted_by"], report["skipped"]) == (3, None, 0)
    assert report["by_code"] == [
        {
            "error_code": "event_time_out_of_range",
            "items": 40,
            "processed": 40,
            "duplicates": 0,
            "published": 0,
            "failed": 0,
            "failures": [],
        }
    ]
    after = metrics()
    assert after["payments"] == (before["payments"][0] + 40, before["payments"][1] + _amounts(payloads))
    assert after["histogram"][0] == before["histogram"][0] + 40
    assert after["dedupe"] == before["dedupe"] + 40
    # The per-run tables describe what the run delivered: a repair does not change them (ADR 0013).
    assert (after["runs"], after["run_totals"]) == (before["runs"], before["run_totals"])
    assert query("SELECT status, attempts, error_code, count(*) FROM failed_items GROUP BY 1, 2, 3") == [
        ("replayed", 2, "event_time_out_of_range", 40)
    ]
    history = query(
        "SELECT action, route, outcome, status_before, status_after, actor_kind, operation_id::text, payload "
        "FROM failed_item_history"
    )
    assert {row[:6] for row in history} == {
        ("replay", "processor", "processed", "pending", "replayed", "os_user")
    }
    assert {row[6] for row in history} == {report["operation_id"]}
    assert len(history) == 40
    assert {row[7] for row in history} == {None}  # replayed as stored: no edited payload recorded

    again = data(cli("dlq", "replay", "--json", env=dlq_env))
    assert (again["matched"], again["attempted"]) == (0, 0)
    assert metrics() == after


def test_raw_events_of_a_replay_are_archived_before_the_commit(
    cli, dlq_env, ingest, bodies, blob_connection_string, container
) -> None:
    payloads = bodies(3)
    ingest(payloads)
    report = data(cli("dlq", "replay", "--json", env=dlq_env))
    client = ContainerClient.from_connection_string(blob_connection_string, container)
    names = [blob.name for blob in client.list_blobs(name_starts_with="payments/$replays/")]
    assert names == [f"payments/$replays/{report['operation_id']}/{1:020d}-{3:020d}.ndjson.gz"]
    lines = [orjson.loads(line) for line in gzip.decompress(client.download_blob(names[0]).readall()).split()]
    assert [line["body"] for line in lines] == [orjson.loads(payload) for payload in payloads]
    assert [(line["partition_id"], line["sequence_number"]) for line in lines] == [
        ("$dlq", 1),
        ("$dlq", 2),
        ("$dlq", 3),
    ]
    assert lines[0]["properties"] == {
        "failed_item_id": 1,
        "dlq_operation_id": report["operation_id"],
        "source_partition": "0",
        "source_sequence_number": 0,
        "run_id": RUN_ID,
    }


def test_unfixable_items_change_no_aggregate_and_bump_attempts(
    cli, dlq_env, ingest, bodies, snapshot, query
) -> None:
    ingest(bodies(5), strict=False)  # valid: counted
    ingest([b"not json", b"[1, 2]", b'{"schema_version": 1}'], first=100)
    before = snapshot()

    report = data(cli("dlq", "replay", "--json", env=dlq_env))
    assert (report["attempted"], report["failed"], report["processed"]) == (3, 3, 0)
    assert {entry["error_code"]: entry["failed"] for entry in report["by_code"]} == {
        "not_json": 1,
        "not_an_object": 1,
        "schema_violation": 1,
    }
    after = snapshot()
    for table in (
        "payment_metrics_5m",
        "aggregate_histograms",
        "dynamic_metrics",
        "processed_transactions",
        "run_totals",
    ):
        assert after[table] == before[table], table
    assert query("SELECT status, attempts FROM failed_items ORDER BY id") == [("pending", 2)] * 3
    assert query(
        "SELECT outcome, status_after, error_code, replaced_error_code FROM failed_item_history ORDER BY id"
    ) == [
        ("failed", "pending", "not_json", "not_json"),
        ("failed", "pending", "not_an_object", "not_an_object"),
        ("failed", "pending", "schema_violation", "schema_violation"),
    ]
    shown = cli("dlq", "replay", env=dlq_env)
    assert shown.exit_code == 0, shown.output
    assert "3 failed again" in shown.stdout
    assert "by error code before the replay" in shown.stdout
    assert "1 not_json:" in shown.stdout
    assert query("SELECT attempts FROM failed_items ORDER BY id") == [(3,)] * 3
    history = cli("dlq", "show", "1", env=dlq_env)
    assert history.exit_code == 0, history.output
    rows = [line for line in history.stdout.splitlines() if "│ replay │ processor │ failed" in line]
    assert len(rows) == 2
    assert all("pending → pending" in row and f"{getpass.getuser()}@" in row for row in rows)
    assert history.stdout.count("was not_json") == 2


def test_a_payment_already_processed_is_counted_once_and_recorded_as_a_duplicate(
    cli, dlq_env, ingest, bodies, metrics, query
) -> None:
    payloads = bodies(4)
    ingest(payloads[:2], strict=False, partition="1")  # two were processed on time...
    ingest(payloads, partition="2")  # ...and all four failed on a stricter worker later
    before = metrics()
    report = data(cli("dlq", "replay", "--json", env=dlq_env))
    assert (report["processed"], report["duplicates"], report["failed"]) == (2, 2, 0)
    assert metrics()["payments"][0] == before["payments"][0] + 2
    assert query("SELECT outcome, count(*) FROM failed_item_history GROUP BY 1 ORDER BY 1") == [
        ("duplicate", 2),
        ("processed", 2),
    ]
    assert query("SELECT DISTINCT status FROM failed_items") == [("replayed",)]


def test_a_dry_run_changes_nothing_and_says_per_code_what_would_happen(
    cli, dlq_env, ingest, bodies, snapshot, blob_connection_string, container
) -> None:
    payloads = bodies(6)
    ingest(payloads[:1], strict=False, partition="1")
    ingest(payloads)  # 1 already processed, 5 fixable by the rule change
    ingest([b"{", b"{}"], first=50)
    before = snapshot()
    report = data(cli("dlq", "replay", "--dry-run", "--batch-size", "3", "--json", env=dlq_env))
    assert snapshot() == before
    assert (report["operation_id"], report["dry_run"]) == (None, True)
    assert (report["matched"], report["processed"], report["duplicates"], report["failed"]) == (8, 5, 1, 2)
    by_code = {entry["error_code"]: entry for entry in report["by_code"]}
    assert (
        by_code["event_time_out_of_range"]["processed"],
        by_code["event_time_out_of_range"]["duplicates"],
    ) == (5, 1)
    assert [
        (reason["error_code"], reason["items"]) for reason in by_code["schema_violation"]["failures"]
    ] == [("schema_violation", 1)]
    assert "schema_version" in by_code["schema_violation"]["failures"][0]["example"]
    client = ContainerClient.from_connection_string(blob_connection_string, container)
    assert not list(client.list_blobs(name_starts_with="payments/$replays/"))

    shown = cli("dlq", "replay", "--dry-run", env=dlq_env)
    assert shown.exit_code == 0, shown.output
    assert "5 would succeed, 1 are already counted (duplicates), 2 would fail again" in shown.stdout


def test_edited_payloads_replay_from_an_exported_file_keeping_the_original_bytes(
    cli, dlq_env, ingest, bodies, metrics, query, tmp_path
) -> None:
    payloads = bodies(3)
    broken = [orjson.dumps({**orjson.loads(payload), "currency": "XYZ"}) for payload in payloads]
    ingest(broken, strict=False)
    exported = tmp_path / "items.ndjson"
    report = data(
        cli("dlq", "export", "--code", "unknown_currency", "-o", str(exported), "--json", env=dlq_env)
    )
    assert report["items"] == 3
    documents = [orjson.loads(line) for line in exported.read_bytes().splitlines()]
    assert [document["payload"].encode() for document in documents] == broken
    assert {document["error_code"] for document in documents} == {"unknown_currency"}
    # The operator fixes two payloads; the third line stays as exported.
    for document, fixed in zip(documents[:2], payloads[:2], strict=True):
        document["payload"] = fixed.decode()
    exported.write_bytes(b"".join(orjson.dumps(document) + b"\n" for document in documents))

    before = metrics()
    replayed = data(cli("dlq", "replay", "--from-file", str(exported), "--json", env=dlq_env))
    assert (replayed["processed"], replayed["failed"]) == (2, 1)
    assert metrics()["payments"] == (
        before["payments"][0] + 2,
        before["payments"][1] + _amounts(payloads[:2]),
    )
    rows = query(
        "SELECT f.id, f.status, f.raw_payload, h.payload, h.outcome FROM failed_items f "
        "JOIN failed_item_history h ON h.failed_item_id = f.id ORDER BY f.id"
    )
    assert [(row[1], bytes(row[2]), row[3] and bytes(row[3]), row[4]) for row in rows] == [
        ("replayed", broken[0], payloads[0], "processed"),
        ("replayed", broken[1], payloads[1], "processed"),
        ("pending", broken[2], None, "failed"),
    ]
    shown = data(cli("dlq", "show", str(rows[0][0]), "--json", env=dlq_env))
    assert shown["payload"]["content"].encode() == broken[0]
    assert shown["history"][0]["edited_payload"]["content"].encode() == payloads[0]

    twice = data(cli("dlq", "replay", "--from-file", str(exported), "--json", env=dlq_env))
    assert (twice["matched"], twice["processed"], twice["failed"]) == (1, 0, 1)  # only the unfixed one
    assert metrics()["payments"][0] == before["payments"][0] + 2


def test_a_bad_edit_file_is_one_line_error_naming_the_line(cli, dlq_env, dlq_settings, tmp_path) -> None:
    edits = tmp_path / "edits.ndjson"
    edits.write_text('{"id": 1, "payload": "{}"}\n{"id": 2}\n', encoding="utf-8")
    failure = error(cli("dlq", "replay", "--from-file", str(edits), "--json", env=dlq_env), ExitCode.CONFIG)
    assert failure["code"] == "invalid_edit_file"
    assert (
        failure["message"]
        == f"{edits}:2 needs exactly one of `payload` (text) and `payload_base64` (a string)"
    )


def test_many_or_discarded_items_need_yes(cli, dlq_env, ingest, query) -> None:
    ingest([b"bad %d" % index for index in range(101)])
    refused = error(cli("dlq", "replay", "--json", env=dlq_env), ExitCode.ABORTED)
    assert refused["code"] == "confirmation_required"
    assert "101 items match" in refused["message"]
    assert data(cli("dlq", "replay", "--limit", "100", "--json", env=dlq_env))["attempted"] == 100

    discarded = data(
        cli("dlq", "discard", "--id", "1", "--id", "2", "--reason", "test traffic", "--json", env=dlq_env)
    )
    assert discarded["discarded"] == 2
    assert query("SELECT status, count(*) FROM failed_items GROUP BY 1 ORDER BY 1") == [
        ("discarded", 2),
        ("pending", 99),
    ]
    refused = error(cli("dlq", "replay", "--status", "discarded", "--json", env=dlq_env), ExitCode.ABORTED)
    assert "2 discarded items match" in refused["message"]
    report = data(cli("dlq", "replay", "--status", "discarded", "--yes", "--json", env=dlq_env))
    assert (report["attempted"], report["failed"]) == (2, 2)
    assert query("SELECT status FROM failed_items WHERE id <= 2") == [("discarded",), ("discarded",)]


def test_discard_keeps_items_and_purge_is_the_only_delete(cli, dlq_env, ingest, query) -> None:
    ingest([b"a", b"b", b"c"])
    missing_reason = cli("dlq", "discard", "--id", "1", env=dlq_env)
    assert missing_reason.exit_code == ExitCode.USAGE
    assert "--reason" in missing_reason.stderr
    data(
        cli(
            "dlq",
            "discard",
            "--id",
            "1",
            "--id",
            "2",
            "--reason",
            "known bad producer",
            "--json",
            env=dlq_env,
        )
    )
    assert query("SELECT count(*) FROM failed_items") == [(3,)]
    assert query(
        "SELECT failed_item_id, action, outcome, reason, actor_kind FROM failed_item_history ORDER BY 1"
    ) == [
        (1, "discard", "discarded", "known bad producer", "os_user"),
        (2, "discard", "discarded", "known bad producer", "os_user"),
    ]
    again = data(cli("dlq", "discard", "--id", "1", "--reason", "again", "--json", env=dlq_env))
    assert again["discarded"] == 0  # no longer pending

    assert error(cli("dlq", "purge", "--older-than", "0s", "--json", env=dlq_env), ExitCode.ABORTED)[
        "code"
    ] == ("confirmation_required")
    young = data(cli("dlq", "purge", "--older-than", "1h", "--yes", "--json", env=dlq_env))
    assert young["deleted"] == 0
    purged = data(
        cli("dlq", "purge", "--older-than", "0s", "--status", "discarded", "--yes", "--json", env=dlq_env)
    )
    assert (purged["deleted"], purged["history_deleted"]) == (2, 2)
    assert query("SELECT id, status FROM failed_items") == [(3, "pending")]
    assert query("SELECT count(*) FROM failed_item_history") == [(0,)]
    shown = cli("dlq", "purge", "--older-than", "0s", "--yes", env=dlq_env)
    assert shown.exit_code == 0, shown.output
    assert "purged 0 discarded items" in shown.stdout


def test_an_item_that_breaks_its_batch_after_validation_is_isolated(
    cli, dlq_env, ingest, bodies, metrics, query
) -> None:
    payloads = bodies(9)
    ingest(payloads)
    # Passes the schema, then fails converting its time (a leap second): stored as a failed item by an
    # earlier pipeline, it must not stop the replay of the others in its batch.
    poison = orjson.dumps({**orjson.loads(payloads[0]), "event_time": "2026-12-31T23:59:60.000Z"})
    query(
        "INSERT INTO failed_items (raw_payload, stage, error_code, error_message) "
        "VALUES (%s, 'validate', 'schema_violation', 'stored by an earlier version')",
        (poison,),
    )
    before = metrics()
    report = data(cli("dlq", "replay", "--json", env=dlq_env))
    assert (report["attempted"], report["processed"], report["failed"]) == (10, 9, 1)
    assert metrics()["payments"][0] == before["payments"][0] + 9
    ((status, attempts, stage, code, message),) = query(
        "SELECT status, attempts, stage, error_code, error_message FROM failed_items WHERE id = 10"
    )
    assert (status, attempts) == ("pending", 2)
    # Isolated by the replay's batch splitting, or refused by the stage that checks it once the
    # processor does (issue 10): either way it failed alone, and the other nine were replayed.
    assert (stage, code) in {("process", "processing_failed"), ("normalize", "invalid_event_time")}, message


def test_a_replayed_health_canary_goes_to_canary_payments_not_the_metrics(
    cli, dlq_env, ingest, bodies, metrics, query
) -> None:
    payload = bodies(1)[0]
    canary = orjson.dumps({**orjson.loads(payload), "run_id": "paysim-canary:probe-1"})
    ingest([canary, bodies(2, seed=8)[1]])  # both refused at ingest by the strict age rule
    before = metrics()
    report = data(cli("dlq", "replay", "--json", env=dlq_env))
    assert (report["processed"], report["failed"]) == (2, 0)
    assert metrics()["payments"][0] == before["payments"][0] + 1  # the payment, not the canary
    assert query("SELECT run_id, source_partition FROM canary_payments") == [
        ("paysim-canary:probe-1", "$dlq")
    ]
    dry = data(cli("dlq", "replay", "--dry-run", "--status", "pending", "--json", env=dlq_env))
    assert dry["matched"] == 0

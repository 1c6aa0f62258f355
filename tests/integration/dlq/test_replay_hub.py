"""`paysim dlq replay --via hub` on the local log: items are marked replayed once the hub acknowledged
them, with where they went; the pipeline then processes them exactly once. A hub that refuses the
publish leaves every item pending."""

from __future__ import annotations

import sqlite3

import pytest
from dlq_results import data, error

from paysim_cli.errors import ExitCode
from paysim_cli.hub import local_log
from paysim_cli.hub.local_log import LocalEventLog


def test_republished_items_are_processed_by_the_pipeline_exactly_once(
    cli, dlq_env, dlq_settings, ingest, bodies, metrics, query
) -> None:
    LocalEventLog.create(dlq_settings.event_log_path, dlq_settings.hub_partitions).close()
    payloads = bodies(30)
    # Coordinates of a partition the log does not have: a new failure in the pipeline cannot collide.
    ingest(payloads, partition="elsewhere")
    ingest([b"still not json"], partition="elsewhere", first=100)
    before = metrics()

    report = data(cli("dlq", "replay", "--via", "hub", "--json", env=dlq_env))
    assert (report["attempted"], report["published"], report["failed"]) == (31, 31, 0)
    assert report["destination"] == {"target": "local", "hub": str(dlq_settings.event_log_path)}
    assert metrics() == before  # nothing is counted until the pipeline has processed the events
    destinations = query("SELECT destination FROM failed_item_history ORDER BY failed_item_id")
    assert {row[0]["target"] for row in destinations} == {"local"}
    assert {row[0]["partition_id"] for row in destinations} <= {"0", "1", "2", "3"}
    assert query(
        "SELECT DISTINCT status, outcome FROM failed_items f JOIN failed_item_history h "
        "ON h.failed_item_id = f.id"
    ) == [("replayed", "published")]

    pipeline = data(cli("pipeline", "run", "--until-drained", "--json", env=dlq_env))
    assert (pipeline["status"], pipeline["events"]) == ("drained", 31)
    after = metrics()
    assert after["payments"][0] == before["payments"][0] + 30
    assert after["dedupe"] == before["dedupe"] + 30
    # The unfixable one failed again in the pipeline: a new failed item, from its new coordinates.
    (again,) = query(
        "SELECT error_code, source_partition IS NOT NULL, raw_payload FROM failed_items "
        "WHERE status = 'pending'"
    )
    assert (again[0], again[1], bytes(again[2])) == ("not_json", True, b"still not json")

    # The same payments published again (say, an operator replays an export) count nothing twice.
    repeated = data(
        cli(
            "hub", "send", "--file", "-", "--json", env=dlq_env, input="\n".join(p.decode() for p in payloads)
        )
    )
    assert repeated["events"] == 30
    data(cli("pipeline", "run", "--until-drained", "--json", env=dlq_env))
    assert metrics()["payments"] == after["payments"]


def test_a_hub_that_refuses_the_publish_leaves_the_items_pending(
    cli, dlq_env, dlq_settings, ingest, bodies, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    LocalEventLog.create(dlq_settings.event_log_path, dlq_settings.hub_partitions).close()
    ingest(bodies(5))
    monkeypatch.setattr(local_log, "BUSY_TIMEOUT_SECONDS", 0.2)
    holder = sqlite3.connect(dlq_settings.event_log_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a real lock: the log cannot take the publish
    try:
        failure = error(cli("dlq", "replay", "--via", "hub", "--json", env=dlq_env), ExitCode.EXTERNAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert failure["code"] == "hub_busy"
    assert "0 items replayed before it" in failure["message"]
    assert query("SELECT DISTINCT status, attempts FROM failed_items") == [("pending", 1)]
    assert query("SELECT count(*) FROM failed_item_history") == [(0,)]

    assert _events_on_hub(cli, dlq_env) == 0
    report = data(cli("dlq", "replay", "--via", "hub", "--json", env=dlq_env))
    assert report["published"] == 5
    assert _events_on_hub(cli, dlq_env) == 5


def _events_on_hub(cli, dlq_env) -> int:
    partitions = data(cli("hub", "info", "--json", env=dlq_env))["partitions"]
    return sum(
        0 if p["is_empty"] else p["last_enqueued_sequence_number"] - p["beginning_sequence_number"] + 1
        for p in partitions
    )

"""Exactly-once effect over at-least-once delivery, on the real PostgreSQL and Azurite."""

from __future__ import annotations

import gzip
import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import orjson
import psycopg
import pytest
from azure.storage.blob import BlobServiceClient

from paysim_cli.local.azurite import Azurite
from paysim_cli.local.processes import free_port
from paysim_cli.local.state import azurite_connection_string
from paysim_pipeline.processor import BatchProcessor
from paysim_pipeline.sinks.blob import RawEventsUnavailable

FUNCTION_DIR = Path(__file__).resolve().parents[3] / "function"
WORKER = """
import pickle, sys
from paysim_pipeline.processor import BatchProcessor
BatchProcessor.from_environment().process(pickle.loads(open(sys.argv[1], "rb").read()), "0", "$Default")
"""


def _wait_for(condition, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_a_batch_is_aggregated_archived_and_checkpointed(
    processor, make_batch, generated_bodies, totals, blob_names, blob_connection_string, container
) -> None:
    events = make_batch(generated_bodies(500))
    outcome = processor.process(events, "0", "$Default")
    assert outcome.processed + outcome.duplicates_dropped == 500
    assert (outcome.failed, outcome.skipped_below_checkpoint) == (0, 0)
    assert (
        outcome.blob_name
        == "payments/$Default/partition=0/00000000000000000000-00000000000000000499.ndjson.gz"
    )
    after = totals()
    assert after["metrics"][0] == after["histogram"][0] == after["runs"][0] == outcome.processed
    assert after["run_totals"] == [
        ("20261123T000000000Z-s7", outcome.processed, outcome.duplicates_dropped, 0)
    ]
    assert after["dedupe"] == (outcome.processed,)
    assert after["checkpoints"] == [("$Default", "0", 499)]
    assert blob_names() == [outcome.blob_name]
    blob = BlobServiceClient.from_connection_string(blob_connection_string).get_blob_client(
        container, outcome.blob_name
    )
    lines = gzip.decompress(blob.download_blob().readall()).splitlines()
    first = orjson.loads(lines[0])
    assert len(lines) == 500
    assert (first["partition_id"], first["sequence_number"], first["offset"]) == ("0", 0, "0")
    assert first["properties"]["run_id"] == "20261123T000000000Z-s7"
    assert orjson.dumps(first["body"]) == events[0].body


def test_a_batch_delivered_twice_changes_no_total(processor, make_batch, generated_bodies, totals) -> None:
    events = make_batch(generated_bodies(300))
    processor.process(events, "0", "$Default")
    before = totals()
    again = processor.process(events, "0", "$Default")
    assert (again.processed, again.skipped_below_checkpoint, again.blob_name) == (0, 300, None)
    assert totals() == before


def test_a_redelivery_cut_differently_skips_what_was_committed(
    processor, make_batch, generated_bodies, totals, query
) -> None:
    bodies = generated_bodies(200)
    first = processor.process(make_batch(bodies[:120]), "3", "$Default")
    overlap = processor.process(make_batch(bodies[80:], first_sequence_number=80), "3", "$Default")
    assert overlap.skipped_below_checkpoint == 40
    assert first.processed + overlap.processed + first.duplicates_dropped + overlap.duplicates_dropped == 200
    assert totals()["metrics"][0] == first.processed + overlap.processed
    assert totals()["checkpoints"] == [("$Default", "3", 199)]


def test_the_same_transaction_id_in_two_batches_or_twice_in_one_is_counted_once(
    processor, make_batch, generated_bodies, totals
) -> None:
    bodies = generated_bodies(50)
    repeated = bodies[7]
    processor.process(make_batch(bodies[:25]), "0", "$Default")
    counted = totals()["metrics"][0]
    outcome = processor.process(
        make_batch([*bodies[25:], repeated, repeated, bodies[30]], 25), "0", "$Default"
    )
    assert outcome.duplicates_dropped >= 3
    assert totals()["metrics"][0] == counted + outcome.processed
    assert totals()["dedupe"] == (totals()["metrics"][0],)
    run_totals = totals()["run_totals"][0]
    assert run_totals[1] + run_totals[2] == 53  # processed + duplicates: every valid event delivered


def test_another_consumer_group_replaying_the_partition_adds_nothing(
    processor, make_batch, generated_bodies, totals
) -> None:
    events = make_batch(generated_bodies(100))
    processor.process(events, "0", "$Default")
    before = totals()
    replay = processor.process(events, "0", "replay")
    assert (replay.processed, replay.duplicates_dropped) == (0, 100)
    after = totals()
    assert after["metrics"] == before["metrics"]
    assert after["checkpoints"] == [("$Default", "0", 99), ("replay", "0", 99)]


def test_a_worker_killed_between_the_blob_write_and_the_commit_leaves_totals_exact(
    config,
    processor,
    make_batch,
    generated_bodies,
    totals,
    blob_names,
    migrated_database_url,
    query,
    tmp_path,
) -> None:
    events = make_batch(generated_bodies(200))
    batch_file = tmp_path / "batch.pickle"
    batch_file.write_bytes(pickle.dumps(events))
    environment = {
        **os.environ,
        "PYTHONPATH": str(FUNCTION_DIR),
        "PAYSIM_DATABASE_URL": config.database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": str(config.blob_connection_string),
        "PAYSIM_RAW_EVENTS_CONTAINER": config.raw_events_container,
    }
    with psycopg.connect(migrated_database_url) as blocker:
        # The worker's upsert waits on this lock, after the blob write and before the commit.
        blocker.execute("LOCK TABLE payment_metrics_5m IN SHARE MODE")
        worker = subprocess.Popen([sys.executable, "-c", WORKER, str(batch_file)], env=environment)
        try:
            _wait_for(
                lambda: (
                    query(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'paysim-pipeline'"
                        " AND wait_event_type = 'Lock'"
                    )
                    == [(1,)]
                ),
                "the worker to wait on the lock",
            )
            # The upload runs beside the statements: it lands while the batch still waits, uncommitted.
            _wait_for(lambda: len(blob_names()) == 1, "the raw events to be written before the commit")
            assert totals()["checkpoints"] == []
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        blocker.rollback()
    assert totals()["metrics"][0] == 0
    assert totals()["checkpoints"] == []

    restarted = processor.process(events, "0", "$Default")  # the host delivers the batch again
    assert restarted.processed + restarted.duplicates_dropped == 200
    assert totals()["metrics"][0] == restarted.processed
    assert totals()["checkpoints"] == [("$Default", "0", 199)]
    assert blob_names() == [restarted.blob_name]  # overwritten, not duplicated


@pytest.fixture
def own_azurite(tmp_path):
    """An Azurite of the test's own, which it can stop and start again on the same port and data."""
    service = Azurite(tmp_path / "azurite")
    port = free_port()
    states = [service.start(port)]
    yield service, port, states
    Azurite.stop(states[-1])


def test_blob_storage_down_fails_the_batch_without_committing_and_it_completes_once_back(
    config, own_azurite, make_batch, generated_bodies, totals
) -> None:
    service, port, states = own_azurite
    processor = BatchProcessor(replace(config, blob_connection_string=azurite_connection_string(port)))
    try:
        bodies = generated_bodies(300)
        first = processor.process(make_batch(bodies[:150]), "1", "$Default")
        before = totals()
        Azurite.stop(states[-1])
        second = make_batch(bodies[150:], first_sequence_number=150)
        with pytest.raises(RawEventsUnavailable, match="after 2 attempts"):
            processor.process(second, "1", "$Default")
        assert totals() == before  # no checkpoint advance, no aggregate, no dedupe row
        states.append(service.start(port))
        again = processor.process(second, "1", "$Default")
    finally:
        processor.close()
    delivered = first.processed + first.duplicates_dropped + again.processed + again.duplicates_dropped
    assert delivered == 300
    assert totals()["metrics"][0] == first.processed + again.processed
    assert totals()["checkpoints"] == [("$Default", "1", 299)]


def test_a_container_deleted_while_running_is_created_again(
    processor, make_batch, generated_bodies, blob_connection_string, container, blob_names
) -> None:
    bodies = generated_bodies(20)
    processor.process(make_batch(bodies[:10]), "0", "$Default")
    BlobServiceClient.from_connection_string(blob_connection_string).delete_container(container)
    processor.process(make_batch(bodies[10:], first_sequence_number=10), "0", "$Default")
    assert blob_names() == [
        "payments/$Default/partition=0/00000000000000000010-00000000000000000019.ndjson.gz"
    ]


def test_a_lost_database_connection_fails_one_delivery_and_the_next_reconnects(
    processor, make_batch, generated_bodies, totals, query
) -> None:
    bodies = generated_bodies(40)
    processor.process(make_batch(bodies[:20]), "0", "$Default")
    query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'paysim-pipeline'")
    second = make_batch(bodies[20:], first_sequence_number=20)
    with pytest.raises(psycopg.OperationalError):
        processor.process(second, "0", "$Default")
    again = processor.process(second, "0", "$Default")
    assert again.processed + again.duplicates_dropped == 20
    assert totals()["checkpoints"] == [("$Default", "0", 39)]

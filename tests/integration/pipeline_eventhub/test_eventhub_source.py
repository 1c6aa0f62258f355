"""One Event Hubs worker in this process: the SDK consumer client through the local AMQP endpoint, the
Blob checkpoint store on the real Azurite, and the real test Function app."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from paysim_cli.errors import PaysimError
from paysim_cli.hub.lag import EventHubLag
from paysim_cli.hub.targets import HubTarget, open_publisher
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.pipeline.consumer import ConsumerPlan, ConsumerStats
from paysim_cli.pipeline.eventhub_source import (
    CHECKPOINT_CONTAINER,
    assigned_partitions,
    checkpoint_store,
    prepare_checkpoint_store,
    run_eventhub_consumer,
)
from paysim_cli.pipeline.loader import load_function
from paysim_cli.settings import Settings

FIXTURE_APP = Path(__file__).resolve().parents[2] / "fixtures" / "function_app"
GROUP = "$Default"


def _recorded(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_a_failing_batch_is_redelivered_then_checkpointed_with_the_hosts_metadata(
    settings: Settings,
    eventhub_connection_string: str,
    blob_connection_string: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording = tmp_path / "recording.jsonl"
    monkeypatch.setenv("RECORDING_FILE", str(recording))
    monkeypatch.setenv("FAIL_INVOCATIONS", "1")
    hub = settings.override(
        eventhub_connection_string=eventhub_connection_string, blob_connection_string=blob_connection_string
    )
    prepare_checkpoint_store(hub)
    prepare_checkpoint_store(hub)  # an existing container is fine
    intended_ms = int(time.time() * 1000)
    # Through paysim's publisher: epoch milliseconds do not fit the SDK's default AMQP int.
    publisher = open_publisher(hub, HubTarget.EVENTHUB)
    try:
        publisher.publish(
            [
                OutgoingEvent(
                    f"e{number}".encode(),
                    partition_id="1",
                    properties={"n": number, "run_id": "r1", "intended_ms": intended_ms},
                )
                for number in range(3)
            ]
        )
    finally:
        publisher.close()

    plan = ConsumerPlan(
        worker=0,
        settings=hub,
        function_dir=FIXTURE_APP,
        function_name="record_batches",
        consumer_group=GROUP,
        batch_size=10,
        max_wait_seconds=0.1,
    )
    backoffs: list[float] = []
    reports: list[ConsumerStats] = []
    deadline = time.monotonic() + 30
    lag = EventHubLag(hub, GROUP, CHECKPOINT_CONTAINER)
    try:

        def done() -> bool:
            if time.monotonic() > deadline:
                return True
            partitions = {row.partition_id: row for row in lag.read()} if _recorded(recording) else {}
            return bool(partitions) and partitions["1"].checkpoint_sequence_number == 2

        stats = run_eventhub_consumer(
            plan,
            load_function(FIXTURE_APP, "record_batches"),
            should_stop=done,
            sleep=backoffs.append,
            on_progress=reports.append,
        )
        partitions = {row.partition_id: row for row in lag.read()}
    finally:
        lag.close()

    assert (stats.failed_invocations, stats.events, stats.batches) == (1, 3, 1)
    assert stats.last_error == "RuntimeError: injected failure 1 of 1"
    assert len(backoffs) == 1
    assert stats.delivered == {"1": 2}
    assert stats.latency["r1"].total == 3
    assert reports
    (record,) = _recorded(recording)
    assert record["partition_context"]["PartitionId"] == "1"
    assert record["partition_context"]["ConsumerGroup"] == GROUP
    assert [event["body"] for event in record["events"]] == ["e0", "e1", "e2"]
    assert [event["sequence_number"] for event in record["events"]] == [0, 1, 2]
    assert [event["properties"]["n"] for event in record["events"]] == [0, 1, 2]
    assert all(event["properties"]["intended_ms"] == intended_ms for event in record["events"])
    assert (partitions["1"].lag, partitions["1"].last_enqueued_sequence_number) == (0, 2)
    assert partitions["0"].checkpoint_sequence_number is None
    assert partitions["0"].lag == 0


def test_without_blob_storage_there_is_no_checkpoint_store(settings: Settings) -> None:
    for make in (prepare_checkpoint_store, checkpoint_store):
        with pytest.raises(PaysimError) as raised:
            make(settings)
        assert raised.value.code == "blob_not_configured"


def test_each_worker_is_assigned_every_nth_partition() -> None:
    partitions = [str(number) for number in range(8)]
    shares = [assigned_partitions(partitions, worker, 3) for worker in range(3)]
    assert shares == [["0", "3", "6"], ["1", "4", "7"], ["2", "5"]]
    assert assigned_partitions(partitions, 0, 1) == partitions
    assert assigned_partitions(["0", "1"], 2, 3) == []  # more workers than partitions: one idles

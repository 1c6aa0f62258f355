"""One host worker over a real local log, feeding the real test Function app."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventConsumer
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.pipeline.consumer import ConsumerPlan, ConsumerStats, run_consumer
from paysim_cli.pipeline.loader import load_function
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from conftest import Publish, Recording

GROUP = "pipeline"


Consume = Callable[..., ConsumerStats]


def _plan(settings: Settings, function_dir: Path, **options: object) -> ConsumerPlan:
    values: dict[str, object] = {
        "worker": 0,
        "settings": settings,
        "function_dir": function_dir,
        "function_name": "record_batches",
        "consumer_group": GROUP,
        "batch_size": 4,
        "max_wait_seconds": 0.01,
    }
    return ConsumerPlan(**(values | options))  # type: ignore[arg-type]


@pytest.fixture
def consume(host_settings: Settings, fixture_app: Path) -> Consume:
    """Run one worker in this process until `until()` (or 10 s), with the test app."""

    def run(
        until: Callable[[], bool],
        sleep: Callable[[float], object] = time.sleep,
        on_progress: Callable[[ConsumerStats], None] | None = None,
        **options: object,
    ) -> ConsumerStats:
        deadline = time.monotonic() + 10
        return run_consumer(
            _plan(host_settings, fixture_app, **options),
            load_function(fixture_app, "record_batches"),
            should_stop=lambda: until() or time.monotonic() > deadline,
            sleep=sleep,
            on_progress=on_progress,
        )

    return run


def _checkpoint(settings: Settings, partition_id: str) -> int | None:
    with LocalEventLog.open(settings.event_log_path) as log:
        return log.checkpointed_sequence_number(GROUP, partition_id)


def test_batches_arrive_with_their_metadata_and_are_checkpointed(
    host_settings: Settings, publish: Publish, recording: Recording, consume: Consume
) -> None:
    publish([OutgoingEvent(f"p1-{n}".encode(), partition_id="1", properties={"n": n}) for n in range(6)])
    publish(
        [
            OutgoingEvent(b"keyed", partition_key="customer-9", partition_id="0"),
            OutgoingEvent(b"p3", partition_id="3"),
        ]
    )
    stats = consume(until=lambda: len(recording.events) == 8)

    assert (stats.events, stats.batches, stats.failed_invocations) == (8, len(recording.batches), 0)
    with LocalEventLog.open(host_settings.event_log_path) as log:
        stored = {
            (event.partition_id, event.sequence_number): event
            for p in "0123"
            for event in log.read(p, 0, 100)
        }
    for batch in recording.batches:
        context = batch["partition_context"]
        assert (context["ConsumerGroup"], context["EventHubName"]) == (GROUP, "payments")
        assert {"PartitionContext", "SystemPropertiesArray", "PropertiesArray"} <= set(batch["metadata"])
        assert len(batch["events"]) <= 4
        for event in batch["events"]:
            original = stored[(context["PartitionId"], event["sequence_number"])]
            assert event["body"] == original.body.decode()
            assert event["offset"] == original.offset
            assert event["enqueued_time"] == original.enqueued_time.isoformat()
            assert event["partition_key"] == original.partition_key
            assert event["properties"] == dict(original.properties)
    partition_one = [
        event
        for batch in recording.batches
        if batch["partition_context"]["PartitionId"] == "1"
        for event in batch["events"]
    ]
    assert [event["sequence_number"] for event in partition_one] == list(range(6))
    assert [event["properties"]["n"] for event in partition_one] == list(range(6))
    assert _checkpoint(host_settings, "1") == 5


def test_a_batch_whose_invocation_raises_is_redelivered(
    host_settings: Settings,
    publish: Publish,
    recording: Recording,
    monkeypatch: pytest.MonkeyPatch,
    consume: Consume,
) -> None:
    monkeypatch.setenv("FAIL_INVOCATIONS", "2")
    publish([OutgoingEvent(f"e{n}".encode(), partition_id="0") for n in range(3)])
    reports: list[ConsumerStats] = []
    stats = consume(until=lambda: len(recording.events) == 3, on_progress=reports.append)

    assert [len(attempt["events"]) for attempt in recording.attempts] == [3, 3, 3]
    assert [event["body"] for event in recording.events] == ["e0", "e1", "e2"]
    assert (stats.failed_invocations, stats.events, stats.batches) == (2, 3, 1)
    assert stats.last_error == "RuntimeError: injected failure 2 of 2"
    assert stats.retrying == {}  # delivered: no longer retrying
    assert _checkpoint(host_settings, "0") == 2


def test_a_retrying_partition_keeps_its_lease_shows_as_retrying_and_holds_up_no_other(
    host_settings: Settings,
    publish: Publish,
    recording: Recording,
    monkeypatch: pytest.MonkeyPatch,
    consume: Consume,
) -> None:
    monkeypatch.setenv("FAIL_PARTITION", "2")
    publish([OutgoingEvent(b"poison?", partition_id="2")])
    lease = 1.5
    started = time.monotonic()
    reports: list[dict[str, int]] = []
    leases: list[bool] = []

    def until() -> bool:
        if time.monotonic() - started > 2 * lease and not leases:
            leases.append(_lease_alive(host_settings, "2"))
            publish([OutgoingEvent(f"p0-{n}".encode(), partition_id="0") for n in range(3)])
        return bool(leases) and len(recording.events) == 3

    stats = consume(
        until=until,
        lease_seconds=lease,
        on_progress=lambda progress: reports.append(
            {partition: retry.failed_attempts for partition, retry in progress.retrying.items()}
        ),
    )
    assert leases == [True]  # renewed while retrying, past the lease's length
    assert [event["body"] for event in recording.events] == ["p0-0", "p0-1", "p0-2"]
    assert _checkpoint(host_settings, "0") == 2
    assert _checkpoint(host_settings, "2") is None
    retry = stats.retrying["2"]
    assert (retry.first_sequence_number, retry.last_sequence_number, retry.worker) == (0, 0, 0)
    assert retry.failed_attempts == stats.failed_invocations >= 3
    assert retry.last_error == "RuntimeError: injected failure: this partition always fails"
    assert [report["2"] for report in reports if "2" in report] == sorted(
        report["2"] for report in reports if "2" in report
    )
    assert len({attempt["events"][0]["sequence_number"] for attempt in recording.attempts}) == 1


def _lease_alive(settings: Settings, partition_id: str) -> bool:
    import sqlite3

    with sqlite3.connect(settings.event_log_path) as db:
        row = db.execute(
            "SELECT expires_us > ? FROM ownership WHERE consumer_group = ? AND partition_id = ?",
            (int(time.time() * 1_000_000), GROUP, int(partition_id)),
        ).fetchone()
    return bool(row and row[0])


def test_the_hub_checkpoint_stays_while_the_function_keeps_failing(
    host_settings: Settings,
    publish: Publish,
    recording: Recording,
    monkeypatch: pytest.MonkeyPatch,
    consume: Consume,
) -> None:
    monkeypatch.setenv("FAIL_INVOCATIONS", "1000")
    publish([OutgoingEvent(b"poison?", partition_id="2")])
    stats = consume(until=lambda: len(recording.attempts) >= 4, sleep=lambda seconds: None)

    assert stats.failed_invocations >= 4
    assert stats.events == 0
    assert {attempt["events"][0]["sequence_number"] for attempt in recording.attempts} == {0}
    assert recording.batches == []
    assert _checkpoint(host_settings, "2") is None


def test_end_to_end_latency_per_run_from_the_intended_send_time(
    host_settings: Settings, publish: Publish, recording: Recording, consume: Consume
) -> None:
    now_ms = int(time.time() * 1000)
    publish(
        [
            *(
                OutgoingEvent(
                    b"a", partition_id="0", properties={"run_id": "run-a", "intended_ms": now_ms - 2000}
                )
                for _ in range(5)
            ),
            OutgoingEvent(b"b", partition_id="0", properties={"run_id": "run-b", "intended_ms": now_ms}),
            OutgoingEvent(b"untimed", partition_id="0"),
        ]
    )
    stats = consume(until=lambda: len(recording.events) == 7, batch_size=100)

    assert sorted(stats.latency) == ["run-a", "run-b"]
    assert stats.latency["run-a"].total == 5
    assert 2000 <= stats.latency["run-a"].percentile_ms(0.5) < 4000
    assert stats.latency["run-b"].percentile_ms(1.0) < 2000
    assert stats.first_batch_at is not None
    assert stats.last_commit_at is not None


def test_a_worker_that_lost_its_lease_leaves_the_checkpoint_alone(
    host_settings: Settings,
    publish: Publish,
    recording: Recording,
    caplog: pytest.LogCaptureFixture,
    consume: Consume,
) -> None:
    publish([OutgoingEvent(b"late", partition_id="1")])
    with caplog.at_level(logging.WARNING):
        stats = consume(until=lambda: len(recording.events) == 1, lease_seconds=1e-6)

    assert stats.events == 1
    assert "no longer owns partition 1" in caplog.text
    assert _checkpoint(host_settings, "1") is None


def test_a_worker_without_partitions_waits_and_reports(host_settings: Settings, consume: Consume) -> None:
    other = LocalEventConsumer(LocalEventLog.open(host_settings.event_log_path), GROUP, owner_id="other")
    try:
        assert len(other.claim_partitions(lease_seconds=60)) == 4
        reports: list[ConsumerStats] = []
        naps: list[float] = []
        deadline = time.monotonic() + 0.3
        stats = consume(
            until=lambda: time.monotonic() > deadline,
            sleep=lambda seconds: (naps.append(seconds), time.sleep(seconds)),
            on_progress=reports.append,
        )
    finally:
        other.close()
    assert stats.partitions == []
    assert stats.events == 0
    assert naps
    assert set(naps) == {0.01}
    assert reports
    assert reports[0].worker == 0


def test_an_idle_worker_takes_new_events_as_they_come(
    publish: Publish, recording: Recording, consume: Consume
) -> None:
    # Published while the worker, caught up everywhere, waits on partition 0 (the first in turn).
    later = threading.Timer(0.3, publish, args=([OutgoingEvent(b"later", partition_id="0")],))
    later.start()
    try:
        stats = consume(until=lambda: len(recording.events) == 1, max_wait_seconds=2.0)
    finally:
        later.join()
    assert stats.events == 1
    assert stats.partitions == ["0", "1", "2", "3"]

"""Retries with backoff and jitter, the undelivered file, and the workers' files."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from paysim_cli.hub.transport import HubError, OutgoingEvent, PublishResult, TransientHubError
from paysim_cli.retry import RetryPolicy
from paysim_cli.simulator.publishing import (
    NdjsonFilePublisher,
    UndeliveredLog,
    join_worker_files,
    publish_with_retry,
    worker_file,
)

EVENTS = [OutgoingEvent(b'{"n":1}', partition_key="c1"), OutgoingEvent(b'{"n":2}')]


class ScriptedPublisher(NdjsonFilePublisher):
    """Raises the scripted errors, one per call, then publishes to the file."""

    def __init__(self, path: Path, errors: list[HubError]) -> None:
        super().__init__(path)
        self.errors = errors

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult:
        if self.errors:
            raise self.errors.pop(0)
        return super().publish(events)


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(attempts=8, base_delay=0.1, max_delay=1.0)
    jitter = random.Random(3)
    delays = [[policy.delay(attempt, jitter) for _ in range(200)] for attempt in range(6)]
    for attempt, samples in enumerate(delays):
        ceiling = min(1.0, 0.1 * 2**attempt)
        assert min(samples) >= 0
        assert max(samples) <= ceiling
        assert max(samples) > ceiling * 0.9


def test_retries_transient_errors_then_delivers(tmp_path: Path) -> None:
    slept: list[float] = []
    publisher = ScriptedPublisher(tmp_path / "out", [TransientHubError("busy", "busy")] * 2)
    delivery = publish_with_retry(
        publisher, EVENTS, RetryPolicy(), sleep=slept.append, jitter=random.Random(1)
    )
    publisher.close()
    assert (delivery.retries, delivery.error, delivery.batches) == (2, None, 1)
    assert len(slept) == 2
    assert (tmp_path / "out").read_bytes() == b'{"n":1}\n{"n":2}\n'


def test_gives_up_after_the_last_attempt_or_when_told(tmp_path: Path) -> None:
    busy = [TransientHubError("busy", "busy")] * 5
    publisher = ScriptedPublisher(tmp_path / "out", list(busy))
    delivery = publish_with_retry(
        publisher, EVENTS, RetryPolicy(attempts=3), sleep=lambda _: None, jitter=random.Random()
    )
    assert (delivery.retries, delivery.permanent_failure) == (2, False)
    assert isinstance(delivery.error, TransientHubError)
    publisher.errors = list(busy)
    stopped = publish_with_retry(
        publisher, EVENTS, RetryPolicy(), sleep=lambda _: None, jitter=random.Random(), give_up=lambda: True
    )
    publisher.close()
    assert stopped.retries == 0
    assert stopped.error is not None


def test_permanent_errors_are_not_retried(tmp_path: Path) -> None:
    publisher = ScriptedPublisher(tmp_path / "out", [HubError("unauthorized", "no")])
    delivery = publish_with_retry(publisher, EVENTS, RetryPolicy(), sleep=pytest.fail, jitter=random.Random())
    publisher.close()
    assert delivery.permanent_failure
    assert delivery.retries == 0


def test_undelivered_log_keeps_key_error_and_body(tmp_path: Path) -> None:
    log = UndeliveredLog(tmp_path / "run" / "undelivered.ndjson")
    log.write(EVENTS, TransientHubError("hub_busy", "busy"))
    log.close()
    lines = [orjson.loads(line) for line in log.path.read_bytes().splitlines()]
    assert lines == [
        {"partition_key": "c1", "error": "hub_busy", "body": '{"n":1}'},
        {"partition_key": None, "error": "hub_busy", "body": '{"n":2}'},
    ]
    assert log.count == 2


def test_worker_files_join_in_worker_order(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    assert worker_file(path, 0, 1) == path
    worker_file(path, 1, 3).write_bytes(b"b\n")
    worker_file(path, 0, 3).write_bytes(b"a\n")
    join_worker_files(path, 3)
    assert path.read_bytes() == b"a\nb\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.ndjson"]
    join_worker_files(tmp_path / "nothing.ndjson", 2)
    assert not (tmp_path / "nothing.ndjson").exists()

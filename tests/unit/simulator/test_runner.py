"""The send loop, on a clock that only moves when the loop sleeps or the target is slow."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from paysim_cli.hub.transport import HubError, OutgoingEvent, PublishResult, TransientHubError
from paysim_cli.retry import RetryPolicy
from paysim_cli.simulator.generator import EventGenerator
from paysim_cli.simulator.progress import WorkerProgress
from paysim_cli.simulator.publishing import NdjsonFilePublisher
from paysim_cli.simulator.runner import WorkerPlan, WorkerRun, run_worker

ProfileFile = Callable[..., Path]
MakePlan = Callable[..., WorkerPlan]


class SlowFilePublisher(NdjsonFilePublisher):
    """The real file target, taking `delay` seconds of the fake clock per publish."""

    def __init__(self, path: Path, clock: Any, delay: float) -> None:
        super().__init__(path)
        self.clock, self.delay, self.calls = clock, delay, 0

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult:
        self.calls += 1
        self.clock.time += self.delay
        return super().publish(events)


class FailingPublisher(NdjsonFilePublisher):
    """Fails the publishes listed in `failures` (1-based call number -> error); the others go to the file."""

    def __init__(self, path: Path, failures: Callable[[int], HubError | None]) -> None:
        super().__init__(path)
        self.failures, self.calls = failures, 0

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult:
        self.calls += 1
        error = self.failures(self.calls)
        if error is not None:
            raise error
        return super().publish(events)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_slow_target_does_not_slow_the_schedule(
    profile_file: ProfileFile, make_plan: MakePlan, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    clock = fake_clock()
    publisher = SlowFilePublisher(tmp_path / "out.ndjson", clock, delay=0.05)
    result = run_worker(
        make_plan(profile_file(), rate=1000, duration=2), publisher, clock=clock, started=clock.now()
    )
    publisher.close()
    events = _lines(tmp_path / "out.ndjson")
    assert result.stopped == "completed"
    assert result.progress.sent == len(events) == result.planned == 2000
    # intended times, not send times: event k is stamped k ms after the start
    assert events[1500]["event_time"] == "2025-11-28T00:00:01.500Z"
    # each publish took 50 ms and carried the backlog; latency counts the wait behind it
    assert publisher.calls <= 2000 * 0.05 / 1.5
    assert result.progress.latency.percentile_ms(0.5) >= 25
    assert result.progress.latency.percentile_ms(0.99) >= 50
    assert result.target_rate == pytest.approx(1000)


def test_a_fast_target_lingers_then_ends_on_the_planned_end(
    profile_file: ProfileFile, make_plan: MakePlan, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    clock = fake_clock()
    started = clock.now()
    reports: list[WorkerProgress] = []
    publisher = NdjsonFilePublisher(tmp_path / "out.ndjson")
    result = run_worker(
        make_plan(profile_file(), rate=1000, count=1500),
        publisher,
        clock=clock,
        started=started,
        on_progress=reports.append,
    )
    publisher.close()
    assert result.progress.sent == 1500
    assert clock.now() - started >= 1.5  # the run lasts as long as its schedule
    assert result.progress.latency.percentile_ms(0.99) <= 5.5  # linger 5 ms, publish instant
    assert result.progress.batches < 1500 / 4  # events 1 ms apart wait up to 5 ms for company
    assert len(reports) >= 3
    assert reports[-1].current_rate == 1000


def test_a_prepared_run_has_its_first_block_and_a_frozen_heap_before_the_clock_starts(
    profile_file: ProfileFile,
    make_plan: MakePlan,
    fake_clock: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generated: list[int] = []
    block = EventGenerator.block

    def counted(self: EventGenerator, number: int, times: Any) -> Any:
        generated.append(number)
        return block(self, number, times)

    monkeypatch.setattr(EventGenerator, "block", counted)
    clock = fake_clock()
    publisher = NdjsonFilePublisher(tmp_path / "out.ndjson")
    prepared = WorkerRun(make_plan(profile_file(), rate=1000, count=3000), publisher, clock)
    assert generated[0] == 0  # block 0 generated, block 1 under way on the worker's thread
    assert gc.get_freeze_count() > 0  # what set-up allocated is out of the collector's walk
    clock.time += 5.0  # the clock starts later: the schedule counts from `started`, not from preparing
    result = prepared.run(clock.now())
    publisher.close()
    assert gc.get_freeze_count() == 0
    assert result.progress.sent == 3000
    assert result.progress.latency.percentile_ms(1.0) <= 5.5
    assert sorted(set(generated)) == [0, 1]


def test_transient_errors_are_retried_with_backoff(
    profile_file: ProfileFile, make_plan: MakePlan, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    clock = fake_clock()
    publisher = FailingPublisher(
        tmp_path / "out.ndjson",
        lambda call: TransientHubError("hub_busy", "busy") if call in (2, 3) else None,
    )
    result = run_worker(
        make_plan(profile_file(), rate=1000, count=300), publisher, clock=clock, started=clock.now()
    )
    publisher.close()
    assert result.progress.sent == 300
    assert result.progress.failed == 0
    assert result.progress.retried > 0
    assert len(_lines(tmp_path / "out.ndjson")) == 300


def test_undelivered_events_are_written_never_dropped(
    profile_file: ProfileFile, make_plan: MakePlan, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    clock = fake_clock()
    publisher = FailingPublisher(
        tmp_path / "out.ndjson",
        lambda call: TransientHubError("hub_busy", "still busy") if call % 3 == 0 else None,
    )
    plan = make_plan(profile_file(), rate=1000, count=2000, retry=RetryPolicy(attempts=1))
    result = run_worker(plan, publisher, clock=clock, started=clock.now())
    publisher.close()
    undelivered = _lines(plan.undelivered_path)
    delivered = _lines(tmp_path / "out.ndjson")
    assert result.progress.failed == len(undelivered) > 0
    assert result.progress.sent == len(delivered)
    assert len(undelivered) + len(delivered) == 2000
    assert result.counts.undelivered == len(undelivered)
    assert result.counts.valid == len(delivered)
    assert {line["error"] for line in undelivered} == {"hub_busy"}
    assert undelivered[0]["partition_key"] == orjson.loads(undelivered[0]["body"])["customer"]["id"]
    assert result.stopped == "completed"


def test_a_permanent_error_stops_the_run(
    profile_file: ProfileFile, make_plan: MakePlan, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    clock = fake_clock()
    publisher = FailingPublisher(tmp_path / "out.ndjson", lambda call: HubError("unauthorized", "no access"))
    plan = make_plan(profile_file(), rate=1000, count=2000)
    result = run_worker(plan, publisher, clock=clock, started=clock.now())
    publisher.close()
    assert result.stopped == "target_error"
    assert result.error == "no access"
    assert publisher.calls == 1
    assert result.progress.failed == len(_lines(plan.undelivered_path)) > 0


def test_stop_request_ends_the_run_and_gives_up_retrying(
    profile_file: ProfileFile, make_plan: MakePlan, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    clock = fake_clock()
    publisher = FailingPublisher(
        tmp_path / "out.ndjson", lambda call: TransientHubError("hub_busy", "busy") if call == 3 else None
    )
    plan = make_plan(profile_file(), rate=1000, duration=5)
    result = run_worker(
        plan, publisher, clock=clock, started=clock.now(), should_stop=lambda: publisher.calls >= 3
    )
    publisher.close()
    assert result.stopped == "interrupted"
    assert result.progress.failed > 0  # the publish in flight was not retried once stopping
    assert result.progress.sent + result.progress.failed < result.planned


def test_watch_reloads_the_profile_mid_run(
    profile_file: ProfileFile, make_plan: MakePlan, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    path = profile_file()
    text = path.read_text()
    path.write_text(text.replace("rate: 1000", "rate: 100").replace("duration: 2", "duration: 10"))

    def edit(now: float) -> None:
        if now >= 1004.0 and "rate: 100\n" in path.read_text():
            path.write_text(path.read_text().replace("rate: 100\n", "rate: 1000\n"))
            os.utime(path, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))

    clock = fake_clock(on_sleep=edit)
    publisher = NdjsonFilePublisher(tmp_path / "out.ndjson")
    result = run_worker(make_plan(path, watch=True), publisher, clock=clock, started=clock.now())
    publisher.close()
    times = [line["event_time"] for line in _lines(tmp_path / "out.ndjson")]
    assert result.reloads == 1
    # 100 events/s until the change is seen (polled every second), then 1,000 events/s until 10 s
    before = sum(1 for time in times if time < "2025-11-28T00:00:04")
    after = sum(1 for time in times if time >= "2025-11-28T00:00:06")
    assert before == 400
    assert after == 4000
    assert result.progress.sent == result.planned == len(times)


def test_watch_keeps_the_previous_profile_when_the_new_one_is_broken(
    profile_file: ProfileFile, make_plan: MakePlan, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    path = profile_file()

    def break_it(now: float) -> None:
        if now >= 1000.5 and "rate: fast" not in path.read_text():
            path.write_text(path.read_text().replace("rate: 1000", "rate: fast"))
            os.utime(path, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))

    clock = fake_clock(on_sleep=break_it)
    publisher = NdjsonFilePublisher(tmp_path / "out.ndjson")
    result = run_worker(make_plan(path, watch=True), publisher, clock=clock, started=clock.now())
    publisher.close()
    assert result.reloads == 0
    assert result.progress.sent == 2000
    assert len(result.warnings) == 1
    assert "kept the previous profile" in result.warnings[0]

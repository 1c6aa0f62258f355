"""Benchmark what a run's time series cost (docs/reports.md): the simulate send loop with its recorder
against the same loop with a recorder that records nothing, and the pipeline host's per-poll sample.
Prints figures; asserts nothing.

    .venv/bin/python bench/reports.py [--quick]

The send loop publishes to a publisher that acknowledges at once, so the loop's own work is all there
is to measure: flat out (the highest rate one worker reaches) and paced at a realistic rate (CPU time
per event). Trials alternate between the two recorders so that load from elsewhere hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paysim_cli.hub.transport import OutgoingEvent, PublishResult
from paysim_cli.latency import LatencyHistogram
from paysim_cli.pipeline.consumer import ConsumerStats
from paysim_cli.pipeline.host import POLL_SECONDS, PartitionLag
from paysim_cli.runs.recorders import HostRecorder, SimulateRecorder
from paysim_cli.simulator import runner
from paysim_cli.simulator.profile_store import BUNDLED_PROFILES_DIR, load_profile
from paysim_cli.simulator.runner import MonotonicClock, WorkerPlan, run_worker

PROFILE = BUNDLED_PROFILES_DIR / "default.yaml"


class AcknowledgingPublisher:
    """Acknowledges every event at once: no I/O, so the loop's own cost is what is measured."""

    max_batch_bytes = 1024 * 1024

    def partition_ids(self) -> list[str]:
        return ["0", "1", "2", "3"]

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult:
        return PublishResult(events=len(events), batches=1, by_partition={"0": len(events)})

    def close(self) -> None:
        pass


class SilentRecorder(SimulateRecorder):
    """The baseline: the same calls, nothing recorded or written."""

    def target(self, now: float, rate: float) -> None:
        pass

    def delivered(self, now: float, intended: Any, kinds: Any) -> None:
        pass

    def undelivered(self, now: float, intended: Any) -> None:
        pass

    def write(self) -> None:
        pass


def _plan(directory: Path, rate: float, count: int) -> WorkerPlan:
    return WorkerPlan(
        worker=0,
        workers=1,
        profile_path=PROFILE,
        profile=load_profile(PROFILE),
        seed=1,
        run_id="bench",
        start_ms=int(time.time() * 1000),
        rate=rate,
        duration=None,
        count=count,
        partition_key_field="customer.id",
        watch=False,
        undelivered_path=directory / "undelivered.ndjson",
    )


class TimedRecorder(SimulateRecorder):
    """The real recorder, timing itself: its share of the loop's time, free of the noise between runs."""

    seconds = 0.0

    def target(self, now: float, rate: float) -> None:
        started = time.perf_counter()
        super().target(now, rate)
        TimedRecorder.seconds += time.perf_counter() - started

    def delivered(self, now: float, intended: Any, kinds: Any) -> None:
        started = time.perf_counter()
        super().delivered(now, intended, kinds)
        TimedRecorder.seconds += time.perf_counter() - started

    def write(self) -> None:
        started = time.perf_counter()
        super().write()
        TimedRecorder.seconds += time.perf_counter() - started


def send_loop(recorder: type[SimulateRecorder], rate: float, count: int) -> tuple[float, float]:
    """Events/s and wall seconds of one worker's loop sending `count` events, with `recorder`."""
    vars(runner)["SimulateRecorder"] = recorder
    try:
        with tempfile.TemporaryDirectory() as directory:
            plan, clock = _plan(Path(directory), rate, count), MonotonicClock()
            started = time.perf_counter()
            result = run_worker(plan, AcknowledgingPublisher(), clock=clock, started=clock.now())
            elapsed = time.perf_counter() - started
    finally:
        vars(runner)["SimulateRecorder"] = SimulateRecorder
    assert result.progress.sent == count
    return count / elapsed, elapsed


def compare(label: str, rate: float, count: int, trials: int) -> None:
    """The recorder's own share of the loop's time, and (noisier) the best rate of each recorder."""
    best = {"silent": 0.0, "recording": 0.0}
    shares = []
    for _ in range(trials):
        best["silent"] = max(best["silent"], send_loop(SilentRecorder, rate, count)[0])
        TimedRecorder.seconds = 0.0
        achieved, elapsed = send_loop(TimedRecorder, rate, count)
        best["recording"] = max(best["recording"], achieved)
        shares.append(TimedRecorder.seconds / elapsed)
    print(
        f"  {label}: recorder {statistics.median(shares) * 100:.2f} % of the loop's time "
        f"(median of {trials}); best rate silent {best['silent']:,.0f} vs recording "
        f"{best['recording']:,.0f} events/s ({(best['recording'] / best['silent'] - 1) * 100:+.1f} %)"
    )


def host_sample_cost(samples: int) -> float:
    """Microseconds per HostRecorder.sample with 2 workers, one run and 4 partitions, as a host polls."""
    rng = np.random.default_rng(1)
    stats = [ConsumerStats(worker=worker, latency={"run": LatencyHistogram()}) for worker in range(2)]
    partitions = [
        PartitionLag(
            partition_id=str(n), last_enqueued_sequence_number=0, checkpoint_sequence_number=0, lag=0
        )
        for n in range(4)
    ]
    recorder = HostRecorder("bench")
    elapsed = 0.0
    for sample in range(samples):
        for item in stats:  # what the workers committed since the last poll: 5,000 events
            item.events += 2500
            item.latency["run"].record(rng.exponential(0.05, 2500))
        started = time.perf_counter()
        recorder.sample(stats, partitions, wall=1_000_000 + sample / 2)
        elapsed += time.perf_counter() - started
    return elapsed / samples * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter trials: rougher figures")
    arguments = parser.parse_args()
    trials = 3 if arguments.quick else 7
    print("simulate send loop, one worker, publishing to a publisher that acknowledges at once:")
    compare("flat out (rate 1,000,000/s)", 1_000_000, 50_000 if arguments.quick else 200_000, trials)
    compare("paced at 10,000/s", 10_000, 30_000 if arguments.quick else 100_000, trials)
    per_sample = host_sample_cost(200)
    print(
        f"pipeline host: {per_sample:,.0f} us per sample, one per poll ({POLL_SECONDS} s): "
        f"{per_sample / (POLL_SECONDS * 1e4):.3f} % of the host's time; the worker processes that run "
        "the function record nothing new"
    )


if __name__ == "__main__":
    main()

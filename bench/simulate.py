"""Benchmark `paysim simulate`: generation rate, the highest rate the local log sustains with 1 and 2
workers, and what building azure-eventhub batches costs per event. Prints figures; asserts nothing.

    .venv/bin/python bench/simulate.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings
from paysim_cli.simulator.generator import BLOCK_EVENTS
from paysim_cli.simulator.profile_store import BUNDLED_PROFILES_DIR, load_profile
from paysim_cli.simulator.runner import WorkerPlan
from paysim_cli.simulator.simulation import SimulationReport, SimulationRequest, run_simulation

PROFILE = BUNDLED_PROFILES_DIR / "default.yaml"


def generation_rate(blocks: int) -> tuple[float, float]:
    """Events/s of one process generating and serialising blocks, and the mean event size in bytes."""
    plan = WorkerPlan(
        worker=0,
        workers=1,
        profile_path=PROFILE,
        profile=load_profile(PROFILE),
        seed=1,
        run_id="bench",
        start_ms=int(time.time() * 1000),
        rate=100_000,
        duration=None,
        count=blocks * BLOCK_EVENTS,
        partition_key_field="customer.id",
        watch=False,
        undelivered_path=Path(tempfile.gettempdir()) / "unused",
    )
    schedule, generator = plan.schedule(), plan.generator(plan.profile)
    times = [schedule.times(n * BLOCK_EVENTS, (n + 1) * BLOCK_EVENTS) for n in range(blocks)]
    started = time.perf_counter()
    sizes = [sum(len(body) for body in generator.block(n, times[n]).bodies) for n in range(blocks)]
    elapsed = time.perf_counter() - started
    return blocks * BLOCK_EVENTS / elapsed, sum(sizes) / (blocks * BLOCK_EVENTS)


def local_log_run(rate: float, workers: int, seconds: float) -> SimulationReport:
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(state_dir=Path(directory))
        LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
        request = SimulationRequest(rate=rate, duration=seconds, workers=workers, seed=1)
        return run_simulation(settings, request)


def sustained(report: SimulationReport) -> bool:
    """Kept up: the achieved rate within 1% of the target, and the backlog drained (p99 under 1 s)."""
    return report.achieved_rate >= 0.99 * report.target_rate and report.latency_ms.p99 < 1000


def highest_sustained_rate(workers: int, seconds: float, start: float) -> tuple[float, SimulationReport]:
    """Double the rate until the log falls behind, then bisect once between the last two rates."""
    best, best_report = 0.0, None
    rate = start
    while True:
        report = local_log_run(rate, workers, seconds)
        print(
            f"    {workers} worker(s) at {rate:>9,.0f}/s: achieved {report.achieved_rate:>9,.0f}/s, "
            f"p95 {report.latency_ms.p95:>7.1f} ms, p99 {report.latency_ms.p99:>8.1f} ms"
        )
        if not sustained(report):
            break
        best, best_report = rate, report
        rate *= 2
    middle = (best + rate) / 2
    report = local_log_run(middle, workers, seconds)
    print(f"    {workers} worker(s) at {middle:>9,.0f}/s: achieved {report.achieved_rate:>9,.0f}/s")
    if sustained(report):
        best, best_report = middle, report
    assert best_report is not None, f"not even {start}/s is sustained"
    return best, best_report


def eventhub_batch_cost(events: int, body_bytes: int) -> float:
    """Microseconds per event to build EventDataBatches as the SDK does before sending (no network)."""
    from azure.eventhub import EventData, EventDataBatch, EventHubProducerClient

    # Constructing the client opens no connection; it proves the SDK path the publisher uses is loadable.
    client = EventHubProducerClient.from_connection_string(
        "Endpoint=sb://bench.servicebus.windows.net/;SharedAccessKeyName=bench;SharedAccessKey=bench",
        eventhub_name="payments",
    )
    bodies = [
        bytes(np.random.default_rng(number).integers(65, 90, body_bytes, dtype=np.uint8))
        for number in range(64)
    ]
    started = time.perf_counter()
    batch = EventDataBatch(max_size_in_bytes=1024 * 1024, partition_id="0")
    for number in range(events):
        event = EventData(bodies[number % 64])
        try:
            batch.add(event)
        except ValueError:  # the batch is full: start the next one, as the publisher does
            batch = EventDataBatch(max_size_in_bytes=1024 * 1024, partition_id="0")
            batch.add(event)
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs: rougher figures")
    arguments = parser.parse_args()
    seconds = 3.0 if arguments.quick else 8.0

    rate, mean_bytes = generation_rate(blocks=30 if arguments.quick else 100)
    print(f"generation (1 core, orjson-serialised): {rate:,.0f} events/s, mean event {mean_bytes:,.0f} bytes")

    print(f"local event log, {seconds:.0f} s runs of the default profile:")
    for workers in (1, 2):
        best, report = highest_sustained_rate(workers, seconds, start=10_000)
        latency = report.latency_ms
        print(
            f"  highest sustained with {workers} worker(s): {best:,.0f} events/s "
            f"(p50/p95/p99 {latency.p50:.1f}/{latency.p95:.1f}/{latency.p99:.1f} ms)"
        )

    cost = eventhub_batch_cost(events=20_000 if arguments.quick else 100_000, body_bytes=round(mean_bytes))
    print(
        f"azure-eventhub EventDataBatch building: {cost:.1f} us/event ({1e6 / cost:,.0f} events/s per core)"
    )


if __name__ == "__main__":
    main()

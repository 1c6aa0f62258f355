"""Pipeline processor throughput: decode → validate → normalize → dedupe → metrics → Blob → commit.

Prints figures, asserts nothing. Starts its own embedded PostgreSQL and Azurite, applies the migrations,
generates events with the simulator's generator (default profile, event times from now) and feeds them
to one BatchProcessor, batch after batch, on one partition, the way the Functions host does.

Per core = events / CPU seconds of this process (decode to commit). PostgreSQL and Azurite run in their
own processes on the other core; wall-clock throughput is printed too.

    .venv/bin/python bench/pipeline_processor.py [--events 200000] [--batch-size 1000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "function"))

from harness import temporary_stack  # noqa: E402

from paysim_cli.simulator.generator import BLOCK_EVENTS, EventGenerator  # noqa: E402
from paysim_cli.simulator.profile_store import load_profile  # noqa: E402
from paysim_pipeline.config import PipelineConfig  # noqa: E402
from paysim_pipeline.processor import BatchProcessor, IncomingEvent  # noqa: E402


def generate(count: int) -> list[bytes]:
    """`count` events at 10,000/s ending now, as the simulator would have sent them."""
    start_ms = int(time.time() * 1000) - count // 10
    generator = EventGenerator(
        load_profile(ROOT / "profiles" / "default.yaml"), seed=1, worker=0, run_id="bench", start_ms=start_ms
    )
    bodies: list[bytes] = []
    for number in range((count + BLOCK_EVENTS - 1) // BLOCK_EVENTS):
        intended = (number * BLOCK_EVENTS + np.arange(BLOCK_EVENTS)) / 10_000.0
        bodies += generator.block(number, intended).bodies
    return bodies[:count]


def run(config: PipelineConfig, bodies: list[bytes], batch_size: int, profile: bool) -> None:
    warmup, bodies = bodies[:10], bodies[10:]
    batches = [
        [
            IncomingEvent(body, first + index, str(first + index), None, None, {"run_id": "bench"})
            for index, body in enumerate(bodies[first : first + batch_size])
        ]
        for first in range(0, len(bodies), batch_size)
    ]
    processor = BatchProcessor(config)
    # Connect, create the container, warm the caches: on events of their own, so none is a duplicate.
    processor.process([IncomingEvent(body, number) for number, body in enumerate(warmup)], "warmup", "bench")
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    processed = duplicates = 0
    for events in batches:
        outcome = processor.process(events, "0", "bench")
        processed += outcome.processed
        duplicates += outcome.duplicates_dropped
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    processor.close()
    count = len(bodies)
    print(
        f"events {count:,} in batches of {batch_size:,}: {processed:,} processed, {duplicates:,} duplicates"
    )
    per_event_us, per_batch_ms = cpu / count * 1e6, wall / len(batches) * 1e3
    print(f"per core (CPU time of the processor): {count / cpu:,.0f} events/s ({per_event_us:.1f} µs/event)")
    print(f"wall clock, one processor:            {count / wall:,.0f} events/s ({per_batch_ms:.1f} ms/batch)")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="print the cProfile of the processing loop")
    arguments = parser.parse_args()
    bodies = generate(arguments.events + 10)
    with temporary_stack() as stack:
        config = PipelineConfig(
            database_url=stack.database_url, blob_connection_string=stack.blob_connection_string
        )
        run(config, bodies, arguments.batch_size, arguments.profile)


if __name__ == "__main__":
    main()

"""Processor throughput with the Function's OpenTelemetry metrics on and off (the budget: within 5 %).

Prints figures, asserts nothing. Starts its own embedded PostgreSQL and Azurite, applies the migrations,
and feeds one BatchProcessor without telemetry and one with it, in alternating rounds of fresh events
(so both see the same mix and machine noise hits both), the way the Functions host calls it. "On" is
the real instruments on an OpenTelemetry SDK MeterProvider whose periodic reader exports every second
(to a null stream: the exporter's network cost is the distro's, off the processing thread).

Throughput per core = events / CPU seconds of this process while processing.

    .venv/bin/python bench/telemetry.py [--rounds 6] [--events-per-round 20000] [--batch-size 500]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "function"))

from harness import temporary_stack  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import (  # noqa: E402
    ConsoleMetricExporter,
    PeriodicExportingMetricReader,
)
from pipeline_processor import generate  # noqa: E402

from paysim_pipeline.config import PipelineConfig  # noqa: E402
from paysim_pipeline.processor import BatchProcessor, IncomingEvent  # noqa: E402
from paysim_pipeline.telemetry import PipelineTelemetry  # noqa: E402


def batches(bodies: list[bytes], first: int, size: int) -> list[list[IncomingEvent]]:
    """One partition's batches from sequence number `first` on, with the simulator's properties."""
    now_ms = int(time.time() * 1000)
    return [
        [
            IncomingEvent(
                body, first + start + index, None, None, None, {"run_id": "bench", "intended_ms": now_ms}
            )
            for index, body in enumerate(bodies[start : start + size])
        ]
        for start in range(0, len(bodies), size)
    ]


def timed(processor: BatchProcessor, work: list[list[IncomingEvent]], partition_id: str) -> float:
    cpu = time.process_time()
    for events in work:
        processor.process(events, partition_id, "bench")
    return time.process_time() - cpu


def run(config: PipelineConfig, rounds: int, per_round: int, batch_size: int) -> None:
    bodies = generate(rounds * 2 * per_round + 20)
    exporter = ConsoleMetricExporter(out=io.StringIO())
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=1000)
    provider = MeterProvider(metric_readers=[reader])
    processors = {
        "off": BatchProcessor(config),
        "on": BatchProcessor(config, telemetry=PipelineTelemetry(provider.get_meter("bench"))),
    }
    for number, (mode, processor) in enumerate(processors.items()):  # connect, create the container
        processor.process([IncomingEvent(bodies[number], 0)], f"warmup-{mode}", "bench")
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    offset = 20
    for round_number in range(rounds):
        order = ("off", "on") if round_number % 2 == 0 else ("on", "off")
        for mode in order:
            chunk = bodies[offset : offset + per_round]
            work = batches(chunk, offset, batch_size)
            cpu[mode].append(timed(processors[mode], work, mode))
            offset += per_round
    for processor in processors.values():
        processor.close()
    provider.shutdown()
    rates = {mode: [per_round / seconds for seconds in times] for mode, times in cpu.items()}
    print(f"{rounds} rounds of {per_round:,} events per mode, batches of {batch_size:,}, one partition each")
    for mode in ("off", "on"):
        median = statistics.median(rates[mode])
        spread = f"{min(rates[mode]):,.0f}..{max(rates[mode]):,.0f}"
        print(f"telemetry {mode:3}: {median:,.0f} events/s per core (median; rounds {spread})")
    total_off, total_on = sum(cpu["off"]), sum(cpu["on"])
    change = (total_on / total_off - 1) * 100
    print(f"telemetry on costs {change:+.1f} % CPU per event over all rounds (budget: within 5 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--events-per-round", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    arguments = parser.parse_args()
    with temporary_stack() as stack:
        config = PipelineConfig(
            database_url=stack.database_url, blob_connection_string=stack.blob_connection_string
        )
        run(config, arguments.rounds, arguments.events_per_round, arguments.batch_size)


if __name__ == "__main__":
    main()

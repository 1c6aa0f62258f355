"""End-to-end figures of the local pipeline: `paysim demo` at 10,000 events/s on this machine, and what
the local host adds per event (building the trigger metadata and decoding it with azure.functions).

Prints figures, asserts nothing. The demo runs in a temporary state directory with its own PostgreSQL
and Azurite, stopped afterwards. `bench/pipeline_processor.py` measures the processor alone.

    .venv/bin/python bench/pipeline.py [--rate 10000] [--duration 30] [--profile default] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from paysim_cli.demo.report import DemoReport
from paysim_cli.demo.request import DemoRequest
from paysim_cli.demo.run import run_demo
from paysim_cli.hub.transport import ReceivedEvent
from paysim_cli.local import stack
from paysim_cli.pipeline.invocation import PartitionContext, invoke
from paysim_cli.pipeline.loader import HostedFunction
from paysim_cli.settings import Settings

BATCH_EVENTS = 500


def host_overhead_us(batches: int) -> float:
    """Microseconds per event to hand a batch of 500 ~400-byte events to a function that does nothing."""
    now = datetime.now(UTC)
    events = [
        ReceivedEvent(b"x" * 400, "0", n, n * 400, now, f"c{n}", {"run_id": "bench", "intended_ms": n})
        for n in range(BATCH_EVENTS)
    ]
    function = HostedFunction("bench", "events", lambda events: None)
    context = PartitionContext("payments", "$Default", "0")
    started = time.perf_counter()
    for _ in range(batches):
        invoke(function, events, context)
    return (time.perf_counter() - started) / (batches * BATCH_EVENTS) * 1e6


def demo(request: DemoRequest) -> DemoReport:
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(state_dir=Path(directory))
        try:
            return run_demo(settings, request, on_stage=lambda stage: print(f"  {stage}", flush=True))
        finally:
            stack.down(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()

    print(f"host overhead: {host_overhead_us(40):.1f} us/event (trigger metadata + azure.functions decode)")
    print(
        f"paysim demo --rate {options.rate:,.0f} --duration {options.duration:,.0f} "
        f"--profile {options.profile}:"
    )
    report = demo(
        DemoRequest(
            rate=options.rate, duration=options.duration, profile=options.profile, workers=options.workers
        )
    )
    latency = report.latency_ms
    verdict = (
        "exact" if report.reconciliation.passed else f"{len(report.reconciliation.differences)} differences"
    )
    print(
        f"  sent {report.sent:,} at {report.achieved_rate:,.0f}/s; processed {report.processed:,}, "
        f"failed {report.failed:,}, duplicates dropped {report.duplicates_dropped:,}"
    )
    print(
        f"  pipeline {report.throughput:,.0f} events/s; max lag {report.max_lag:,} events; "
        f"caught up {report.drain_seconds:.1f} s after the last event was sent ({report.pipeline})"
    )
    print(
        f"  end-to-end latency (intended send -> commit) p50 {latency.p50:,.0f} ms, "
        f"p95 {latency.p95:,.0f} ms, p99 {latency.p99:,.0f} ms, max {latency.max:,.0f} ms"
    )
    print(f"  reconciliation: {verdict}")


if __name__ == "__main__":
    main()

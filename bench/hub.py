"""Local event log throughput: publish and consume rates for batches of 500 events of ~400 bytes.

Prints figures, asserts nothing. Each scenario starts from a fresh log; producers are separate processes
released together, and the publish rate is all their events over the wall time from release to the last
one's finish. Consuming reads every partition from the start in pages of 5,000 events, checkpointing
each page, as a pipeline worker would.

    .venv/bin/python bench/hub.py [--events 400000] [--partitions 4] [--keyed]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import orjson

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventConsumer, LocalEventPublisher
from paysim_cli.hub.transport import OutgoingEvent

BATCH_EVENTS = 500
BODY_BYTES = 400
PAGE_EVENTS = 5_000


def payment_body(number: int) -> bytes:
    """A payment event padded to about BODY_BYTES, like the simulator's."""
    event = {
        "schema_version": 1,
        "transaction_id": f"b7e5{number:028x}",
        "event_time": "2025-01-31T12:00:00.000000Z",
        "payment_type": "card",
        "amount_minor": 1000 + number % 90_000,
        "currency": "EUR",
        "merchant": {"id": f"m-{number % 5_000:05d}", "mcc": "5411", "country": "FR"},
        "customer_id": f"c-{number % 100_000:06d}",
        "channel": "ecommerce",
        "status": "approved",
        "is_fraud": False,
        "run_id": "bench",
    }
    body = orjson.dumps(event)
    return body + b" " * max(0, BODY_BYTES - len(body))


def produce(
    path: Path,
    first: int,
    count: int,
    keyed: bool,
    start: Event,
    finished: multiprocessing.Queue[tuple[float, float]],
) -> None:
    batches = [
        [
            OutgoingEvent(payment_body(number), partition_key=f"m-{number % 5_000:05d}" if keyed else None)
            for number in range(offset, min(offset + BATCH_EVENTS, first + count))
        ]
        for offset in range(first, first + count, BATCH_EVENTS)
    ]
    publisher = LocalEventPublisher(LocalEventLog.open(path))
    start.wait()
    began = time.perf_counter()
    for batch in batches:
        publisher.publish(batch)
    finished.put((began, time.perf_counter()))
    publisher.close()


def publish_rate(path: Path, producers: int, events: int, keyed: bool) -> float:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    finished: multiprocessing.Queue[tuple[float, float]] = context.Queue()
    share = events // producers
    processes = [
        context.Process(target=produce, args=(path, index * share, share, keyed, start, finished))
        for index in range(producers)
    ]
    for process in processes:
        process.start()
    time.sleep(2.0)  # let every producer build its batches before the start signal
    start.set()
    spans = [finished.get() for _ in processes]
    for process in processes:
        process.join()
    return share * producers / (max(end for _, end in spans) - min(began for began, _ in spans))


def consume_rate(path: Path) -> tuple[float, int]:
    consumer = LocalEventConsumer(LocalEventLog.open(path), "bench")
    received = 0
    began = time.perf_counter()
    for partition_id in consumer.partition_ids():
        while events := consumer.receive(partition_id, max_events=PAGE_EVENTS, max_wait_seconds=0):
            received += len(events)
            consumer.checkpoint(partition_id, events[-1].sequence_number, events[-1].offset)
    elapsed = time.perf_counter() - began
    consumer.close()
    return received / elapsed, received


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=400_000, help="events per scenario")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--keyed", action="store_true", help="route by merchant key, not round-robin")
    options = parser.parse_args()
    routing = "partition key" if options.keyed else "round-robin"
    print(
        f"local event log: {options.events:,} events of ~{BODY_BYTES} B in batches of {BATCH_EVENTS}, "
        f"{options.partitions} partitions, {routing} routing"
    )
    print(f"{'producers':>9}  {'publish events/s':>16}  {'consume events/s':>16}  {'MB/s in':>8}")
    for producers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="paysim-bench-") as directory:
            path = Path(directory) / "events.db"
            LocalEventLog.create(path, options.partitions).close()
            published = publish_rate(path, producers, options.events, options.keyed)
            consumed, received = consume_rate(path)
            if received != options.events // producers * producers:
                raise SystemExit(f"consumed {received} events, expected {options.events}")
            megabytes = published * BODY_BYTES / 1e6
            print(f"{producers:>9}  {published:>16,.0f}  {consumed:>16,.0f}  {megabytes:>8.1f}")


if __name__ == "__main__":
    main()

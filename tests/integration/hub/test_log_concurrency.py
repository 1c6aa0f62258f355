"""4 producer processes and 2 consumer processes of one group on one local log, all at once.

Consumers share the group's partitions by leases (`claim_partitions`): each loop renews its leases and
rebalances, reads its partitions, and checkpoints each page; a page is kept only if its checkpoint was
accepted, which needs the partition's live lease. Every event must come out exactly once, and each
partition in sequence order with each producer's events in the order it published them.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventConsumer, LocalEventPublisher
from paysim_cli.hub.transport import HubError, OutgoingEvent

PRODUCERS = 4
EVENTS_PER_PRODUCER = 1_500
BATCH = 50
GROUP = "workers"


def produce(path: Path, producer: int) -> None:
    publisher = LocalEventPublisher(LocalEventLog.open(path))
    for first in range(0, EVENTS_PER_PRODUCER, BATCH):
        publisher.publish(
            [
                # Half keyed (17 keys), half round-robin, so both routes share partitions.
                OutgoingEvent(
                    f"p{producer}-{number}".encode(), partition_key=f"k{number % 17}" if number % 2 else None
                )
                for number in range(first, first + BATCH)
            ]
        )
    publisher.close()


def consume(path: Path, name: str, expected: int, output: Path) -> None:
    consumer = LocalEventConsumer(LocalEventLog.open(path), GROUP, owner_id=name)
    records: list[tuple[str, int, str]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _checkpointed(consumer) < expected:
        received_any = False
        for partition_id in consumer.claim_partitions(lease_seconds=10):
            events = consumer.receive(partition_id, max_events=100, max_wait_seconds=0)
            if not events:
                continue
            try:
                consumer.checkpoint(partition_id, events[-1].sequence_number, events[-1].offset)
            except HubError:  # ownership_lost: the new owner reads these again from the checkpoint
                continue
            received_any = True
            records.extend(
                (event.partition_id, event.sequence_number, event.body.decode()) for event in events
            )
        if not received_any:
            time.sleep(0.01)
    consumer.close()
    output.write_bytes(orjson.dumps(records))


def _checkpointed(consumer: LocalEventConsumer) -> int:
    """Events the group has checkpointed over all partitions (none purged, so sequence number + 1)."""
    return sum((consumer.checkpointed_sequence_number(p) or -1) + 1 for p in consumer.partition_ids())


def test_four_producers_two_consumers_every_event_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    LocalEventLog.create(path, 4).close()
    expected = PRODUCERS * EVENTS_PER_PRODUCER
    context = multiprocessing.get_context("spawn")
    outputs = [tmp_path / f"consumer-{index}.json" for index in range(2)]
    processes = [
        context.Process(target=consume, args=(path, f"consumer-{index}", expected, output))
        for index, output in enumerate(outputs)
    ] + [context.Process(target=produce, args=(path, producer)) for producer in range(PRODUCERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=90)
    assert [process.exitcode for process in processes] == [0] * len(processes)

    per_consumer = [orjson.loads(output.read_bytes()) for output in outputs]
    everything = [tuple(record) for records in per_consumer for record in records]
    bodies = Counter(body for _, _, body in everything)
    assert len(everything) == expected
    assert set(bodies.values()) == {1}
    assert set(bodies) == {f"p{p}-{n}" for p in range(PRODUCERS) for n in range(EVENTS_PER_PRODUCER)}

    by_partition: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for partition_id, sequence_number, body in everything:
        by_partition[partition_id].append((sequence_number, body))
    for partition_id, events in by_partition.items():
        events.sort()
        assert [sequence for sequence, _ in events] == list(range(len(events))), partition_id
        for producer in range(PRODUCERS):
            numbers = [int(body.split("-")[1]) for _, body in events if body.startswith(f"p{producer}-")]
            assert numbers == sorted(numbers), (partition_id, producer)
    for records in per_consumer:  # each consumer saw each partition's events in sequence order
        seen: dict[str, int] = {}
        for partition_id, sequence_number, _ in records:
            assert sequence_number > seen.get(partition_id, -1)
            seen[partition_id] = sequence_number
    assert all(per_consumer), "both consumers took part"

"""Two SDK consumer clients share the partitions through the Blob checkpoint store on the real Azurite,
checkpoint as they go, and a consumer started afterwards resumes from those checkpoints."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from typing import Any

from amqp_clients import PARTITIONS, Endpoint
from azure.eventhub import EventData, EventHubConsumerClient, EventHubProducerClient
from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore
from azure.storage.blob import BlobServiceClient

INTERVAL_SECONDS = 0.5
TIMEOUT_SECONDS = 30


class Worker:
    """A consumer client in the group, run by `receive_batch` in a thread, checkpointing every batch."""

    def __init__(self, endpoint: Endpoint, store: BlobCheckpointStore, name: str, seen: list[Any]) -> None:
        self.client = EventHubConsumerClient.from_connection_string(
            **endpoint.client_options(),
            consumer_group="$Default",
            checkpoint_store=store,
            load_balancing_interval=INTERVAL_SECONDS,
        )

        def on_batch(context: Any, events: list[EventData]) -> None:
            seen.extend((name, context.partition_id, event.body_as_str()) for event in events)
            if events:
                context.update_checkpoint()

        self._thread = threading.Thread(
            target=self.client.receive_batch,
            kwargs={"on_event_batch": on_batch, "starting_position": "-1", "max_wait_time": INTERVAL_SECONDS},
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.client.close()
        self._thread.join(timeout=TIMEOUT_SECONDS)


def publish(endpoint: Endpoint, label: str, per_partition: int) -> None:
    with EventHubProducerClient.from_connection_string(**endpoint.client_options()) as producer:
        for partition in range(PARTITIONS):
            batch = producer.create_batch(partition_id=str(partition))
            for number in range(per_partition):
                batch.add(EventData(f"{label}-{partition}-{number}"))
            producer.send_batch(batch)


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_two_consumers_share_partitions_and_resume_from_checkpoints(
    endpoint: Endpoint, blob_connection_string: str
) -> None:
    container = f"checkpoints-{uuid.uuid4().hex[:8]}"
    BlobServiceClient.from_connection_string(blob_connection_string).create_container(container)
    store = BlobCheckpointStore.from_connection_string(blob_connection_string, container)
    namespace = f"localhost:{endpoint.port}"
    publish(endpoint, "first", 5)

    seen: list[tuple[str, str, str]] = []
    workers = [Worker(endpoint, store, "a", seen)]
    wait_until(lambda: len(seen) >= 5)
    workers.append(Worker(endpoint, store, "b", seen))

    def balanced() -> bool:
        owners = Counter(row["owner_id"] for row in store.list_ownership(namespace, "payments", "$Default"))
        return sorted(owners.values()) == [2, 2]

    expected_first = {f"first-{p}-{n}" for p in range(PARTITIONS) for n in range(5)}
    wait_until(lambda: balanced() and {body for _, _, body in seen} >= expected_first)
    for worker in workers:
        worker.stop()
    checkpoints = {
        row["partition_id"]: row["sequence_number"]
        for row in store.list_checkpoints(namespace, "payments", "$Default")
    }
    assert checkpoints == {str(p): 4 for p in range(PARTITIONS)}

    publish(endpoint, "second", 2)
    resumed: list[tuple[str, str, str]] = []
    restarted = Worker(endpoint, store, "c", resumed)
    try:
        wait_until(lambda: len(resumed) >= 2 * PARTITIONS)
        time.sleep(2 * INTERVAL_SECONDS)  # and nothing older arrives
    finally:
        restarted.stop()
    assert sorted(body for _, _, body in resumed) == sorted(
        f"second-{p}-{n}" for p in range(PARTITIONS) for n in range(2)
    )

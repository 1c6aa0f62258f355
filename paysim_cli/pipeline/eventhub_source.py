"""The Event Hubs source of `paysim pipeline run`: the SDK's consumer client, load-balanced across the
worker processes by the Blob checkpoint store, feeding the function the same invocations as the local log.

Each worker runs one `EventHubConsumerClient.receive_batch` with a `BlobCheckpointStore`: the SDK's load
balancer shares the partitions among the workers through the store's ownership blobs, and a partition
starts after its checkpoint (or at the oldest event when it has none). A batch's checkpoint is written
only after the function returned for it; a raising invocation is retried in-process with backoff until
it succeeds or the host stops, so the SDK never moves past an unprocessed batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from paysim_cli.blob import blob_failure, blob_not_configured, container_client
from paysim_cli.errors import PaysimError
from paysim_cli.hub.eventhubs import _create_client, _mapped_errors, _received, hub_error_from
from paysim_cli.pipeline.consumer import PROGRESS_INTERVAL_SECONDS, BatchDelivery, ConsumerPlan, ConsumerStats
from paysim_cli.pipeline.host import PartitionLag
from paysim_cli.pipeline.invocation import PartitionContext
from paysim_cli.pipeline.loader import HostedFunction
from paysim_cli.pipeline.release import ReleaseTracker
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.eventhub import EventData, EventHubConsumerClient
    from azure.eventhub import PartitionContext as SdkPartitionContext
    from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore

CHECKPOINT_CONTAINER = "eventhub-checkpoints"
# How often a worker's load balancer looks at the ownership blobs, and when an owner that stopped
# renewing (killed, hung) loses its partitions: the SDK's defaults (30 s, 180 s) are made for long-lived
# hosts; the local host starts and stops with each command.
LOAD_BALANCING_SECONDS = 1.0
OWNERSHIP_EXPIRY_SECONDS = 10.0
STOP_POLL_SECONDS = 0.1

logger = logging.getLogger(__name__)


def _blob_unavailable(error: Exception) -> PaysimError:
    return blob_failure(error, "the Event Hubs checkpoint store")


def prepare_checkpoint_store(settings: Settings) -> None:
    """Create the checkpoints container when it is missing; fails early on no or unreachable storage."""
    from azure.core.exceptions import AzureError, ResourceExistsError

    container = container_client(settings, CHECKPOINT_CONTAINER)
    with container:
        try:
            container.create_container()
        except ResourceExistsError:
            pass
        except AzureError as error:
            raise _blob_unavailable(error) from error


def checkpoint_store(settings: Settings) -> BlobCheckpointStore:
    """The consumer group's ownership and checkpoints, in the checkpoints container."""
    from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore

    if settings.blob_connection_string is not None:
        connection_string = settings.blob_connection_string
        return BlobCheckpointStore.from_connection_string(connection_string, CHECKPOINT_CONTAINER)
    if settings.blob_account_url is not None:
        from azure.identity import DefaultAzureCredential

        return BlobCheckpointStore(settings.blob_account_url, CHECKPOINT_CONTAINER, DefaultAzureCredential())
    raise blob_not_configured(settings)


def _group_client(settings: Settings, consumer_group: str, **options: Any) -> EventHubConsumerClient:
    from azure.eventhub import EventHubConsumerClient

    client: EventHubConsumerClient = _create_client(
        EventHubConsumerClient, settings, consumer_group=consumer_group, **options
    )
    return client


def run_eventhub_consumer(
    plan: ConsumerPlan,
    function: HostedFunction | ReleaseTracker,
    *,
    should_stop: Callable[[], bool],
    sleep: Callable[[float], object] = time.sleep,
    on_progress: Callable[[ConsumerStats], None] | None = None,
) -> ConsumerStats:
    """Consume the partitions the load balancer gives this worker until `should_stop`; its counters."""
    client = _group_client(
        plan.settings,
        plan.consumer_group,
        checkpoint_store=checkpoint_store(plan.settings),
        load_balancing_interval=LOAD_BALANCING_SECONDS,
        partition_ownership_expiration_interval=OWNERSHIP_EXPIRY_SECONDS,
    )
    stats = ConsumerStats(plan.worker)
    owned: set[str] = set()
    next_report = [0.0]

    def report() -> None:
        now = time.monotonic()
        if on_progress is not None and now >= next_report[0]:
            stats.partitions = sorted(owned, key=int)
            on_progress(stats)
            next_report[0] = now + PROGRESS_INTERVAL_SECONDS

    def still_owned(partition_id: str) -> bool:
        # The SDK renews ownership itself and closes a partition it lost (on_partition_close).
        report()
        return partition_id in owned

    delivery = BatchDelivery(plan, function, stats)

    def on_event_batch(partition: SdkPartitionContext, batch: list[EventData]) -> None:
        # Called on this thread, one partition after another: one invocation at a time, as locally.
        if batch and not should_stop():
            events = [_received(data, partition.partition_id) for data in batch]
            context = PartitionContext(partition.eventhub_name, plan.consumer_group, partition.partition_id)
            # The SDK calls back one partition after another: the retry must happen here, in place.
            if delivery.deliver(
                context, events, should_stop=should_stop, sleep=sleep, still_owned=still_owned
            ):
                partition.update_checkpoint(batch[-1])
        report()

    def on_error(partition: SdkPartitionContext | None, error: Exception) -> None:
        # The SDK retries receiving and load balancing itself; this only tells what went wrong.
        where = f"partition {partition.partition_id}" if partition is not None else "load balancing"
        logger.warning("%s: %s", where, hub_error_from(error, "receiving").message)

    def on_partition_initialize(partition: SdkPartitionContext) -> None:
        owned.add(partition.partition_id)

    def on_partition_close(partition: SdkPartitionContext, reason: object) -> None:
        owned.discard(partition.partition_id)

    finished = threading.Event()

    def close_on_stop() -> None:
        while not (should_stop() or finished.wait(STOP_POLL_SECONDS)):
            pass
        client.close()  # ends receive_batch once the batch in flight is done

    closer = threading.Thread(target=close_on_stop, name=f"eventhub-stop-{plan.worker}", daemon=True)
    closer.start()
    try:
        with _mapped_errors("receiving"):
            client.receive_batch(
                on_event_batch=on_event_batch,
                on_error=on_error,
                on_partition_initialize=on_partition_initialize,
                on_partition_close=on_partition_close,
                max_batch_size=plan.batch_size,
                max_wait_time=max(plan.max_wait_seconds, 0.001),
                starting_position="-1",
            )
    finally:
        finished.set()
        closer.join()
    stats.partitions = sorted(owned, key=int)
    return stats


class EventHubLag:
    """The consumer group's lag on Event Hubs: partition properties against the Blob checkpoints."""

    def __init__(self, settings: Settings, consumer_group: str) -> None:
        self._client = _group_client(settings, consumer_group)
        self._store = checkpoint_store(settings)
        self._consumer_group = consumer_group
        self._partition_ids: list[str] | None = None
        # Threads start as needed: one per partition, up to 32 (the service's most partitions by default).
        self._readers = ThreadPoolExecutor(32, "eventhub-lag")

    def read(self) -> list[PartitionLag]:
        from azure.core.exceptions import AzureError
        from azure.eventhub.exceptions import EventHubError

        try:
            if self._partition_ids is None:
                self._partition_ids = list(self._client.get_partition_ids())
            # Each management call opens a link and takes ~0.4 s: all partitions at once.
            properties = list(self._readers.map(self._client.get_partition_properties, self._partition_ids))
        except EventHubError as error:
            raise hub_error_from(error, "reading partition properties") from error
        # The namespace as the event processor names it in the store (host:port for the emulator).
        namespace = self._client._address.hostname
        try:
            rows = self._store.list_checkpoints(namespace, self._client.eventhub_name, self._consumer_group)
            checkpoints = {str(row["partition_id"]): int(row["sequence_number"]) for row in rows}
        except AzureError as error:
            raise _blob_unavailable(error) from error
        lags = []
        for partition in properties:
            partition_id = str(partition["id"])
            last = int(partition["last_enqueued_sequence_number"])
            checkpoint = checkpoints.get(partition_id)
            # Without a checkpoint the group is behind by everything the partition holds.
            done = checkpoint if checkpoint is not None else int(partition["beginning_sequence_number"]) - 1
            behind = 0 if partition["is_empty"] else last - done
            lags.append(
                PartitionLag(
                    partition_id=partition_id,
                    last_enqueued_sequence_number=last,
                    checkpoint_sequence_number=checkpoint,
                    lag=max(0, behind),
                )
            )
        return lags

    def close(self) -> None:
        self._readers.shutdown()
        self._client.close()

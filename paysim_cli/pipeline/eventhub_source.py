"""The Event Hubs source of `paysim pipeline run`: the SDK's consumer client, load-balanced across the
worker processes by the Blob checkpoint store, feeding the function the same invocations as the local log.

The host knows how many workers it runs, so the partitions are assigned, not balanced: worker i of n
receives the partitions at positions i, i + n, ... of the hub's list, each through its own
`EventHubConsumerClient.receive_batch(partition_id=...)`, with a `BlobCheckpointStore` for where each
partition starts (after its checkpoint, or at the oldest event when it has none). The SDK's load
balancer would instead start a run by moving partitions between workers as they come up, each move
stealing a receiver link (`amqp:link:stolen`) and delivering the batch in flight twice. An assigned
partition changes owner only when its worker crashed and the host restarted it, after the old process
ended: the old owner has stopped before the new one commits. A receiver is exclusive (owner level 0
with a checkpoint store), so another host on the same consumer group takes the link over rather than
reading along.

A batch's checkpoint is written only after the function returned for it; a raising invocation is
retried in place with backoff until it succeeds or the host stops, so no receiver moves past an
unprocessed batch. The partitions' receivers call back on their own threads; invocations run one at a
time, as with the local log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from paysim_cli.blob import blob_failure, blob_not_configured, container_client
from paysim_cli.errors import PaysimError
from paysim_cli.hub.eventhubs import create_client, hub_error_from, mapped_errors, received_event
from paysim_cli.pipeline.consumer import PROGRESS_INTERVAL_SECONDS, BatchDelivery, ConsumerPlan, ConsumerStats
from paysim_cli.pipeline.invocation import PartitionContext
from paysim_cli.pipeline.loader import HostedFunction
from paysim_cli.pipeline.release import ReleaseTracker
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.eventhub import EventData, EventHubConsumerClient
    from azure.eventhub import PartitionContext as SdkPartitionContext
    from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore

CHECKPOINT_CONTAINER = "eventhub-checkpoints"
STOP_POLL_SECONDS = 0.1
# Link credit per partition receiver, in batches: the next batch is on its way while the function runs
# (the SDK's default prefetch, 300, is below the host's default batch of 500 and held batches back until
# their wait ran out).
PREFETCH_BATCHES = 2

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


def assigned_partitions(partition_ids: list[str], worker: int, workers: int) -> list[str]:
    """Worker `worker` of `workers`'s partitions: every `workers`-th of the hub's, from position `worker`."""
    return partition_ids[worker::workers]


def run_eventhub_consumer(
    plan: ConsumerPlan,
    function: HostedFunction | ReleaseTracker,
    *,
    should_stop: Callable[[], bool],
    sleep: Callable[[float], object] = time.sleep,
    on_progress: Callable[[ConsumerStats], None] | None = None,
) -> ConsumerStats:
    """Consume the partitions assigned to this worker until `should_stop`; its counters."""
    from azure.eventhub import EventHubConsumerClient

    client: EventHubConsumerClient = create_client(
        EventHubConsumerClient,
        plan.settings,
        consumer_group=plan.consumer_group,
        checkpoint_store=checkpoint_store(plan.settings),
    )
    return _EventHubLoop(plan, function, client, should_stop, sleep, on_progress).run()


class _EventHubLoop:
    """One worker's partitions, each received on a thread of its own (`receive_batch` with its
    partition_id); a lock runs the invocations one at a time; this thread closes the client on stop."""

    def __init__(
        self,
        plan: ConsumerPlan,
        function: HostedFunction | ReleaseTracker,
        client: EventHubConsumerClient,
        should_stop: Callable[[], bool],
        sleep: Callable[[float], object],
        on_progress: Callable[[ConsumerStats], None] | None,
    ) -> None:
        self._plan, self._client = plan, client
        self._should_stop, self._on_progress = should_stop, on_progress
        self._stats = ConsumerStats(plan.worker)
        self._sleep = sleep
        self._delivery = BatchDelivery(plan, function, self._stats)
        self._owned: set[str] = set()
        self._next_report = 0.0
        # Invocations and the worker's reports (one pipe to the host), one thread at a time.
        self._invoking = threading.RLock()
        self._failures: list[BaseException] = []
        self._ended = threading.Event()

    def run(self) -> ConsumerStats:
        with mapped_errors("listing partitions"):
            partitions = assigned_partitions(
                self._client.get_partition_ids(), self._plan.worker, self._plan.workers
            )
        receivers = [
            threading.Thread(
                target=self._receive, args=(partition_id,), name=f"eventhub-{partition_id}", daemon=True
            )
            for partition_id in partitions
        ]
        for receiver in receivers:
            receiver.start()
        try:
            while not (self._should_stop() or self._ended.wait(STOP_POLL_SECONDS)):
                with self._invoking:
                    self._report()
        finally:
            self._client.close()  # ends every receive_batch once the batch in flight is done
            for receiver in receivers:
                receiver.join()
        if self._failures:
            raise self._failures[0]
        self._stats.partitions = sorted(self._owned, key=int)
        return self._stats

    def _receive(self, partition_id: str) -> None:
        try:
            with mapped_errors("receiving"):
                self._client.receive_batch(
                    on_event_batch=self._on_event_batch,
                    on_error=self._on_error,
                    on_partition_initialize=self._on_partition_initialize,
                    on_partition_close=self._on_partition_close,
                    partition_id=partition_id,
                    max_batch_size=self._plan.batch_size,
                    max_wait_time=max(self._plan.max_wait_seconds, 0.001),
                    prefetch=self._plan.batch_size * PREFETCH_BATCHES,
                    starting_position="-1",
                )
        except Exception as error:  # noqa: BLE001 - re-raised on the worker's thread, which stops the rest
            self._failures.append(error)
            self._ended.set()

    def _on_event_batch(self, partition: SdkPartitionContext, batch: list[EventData]) -> None:
        with self._invoking:
            if batch and not self._should_stop():
                events = [received_event(data, partition.partition_id) for data in batch]
                context = PartitionContext(
                    partition.eventhub_name, self._plan.consumer_group, partition.partition_id
                )
                # Each partition's receiver waits for its callback: the retry must happen here, in place.
                if self._delivery.deliver(
                    context,
                    events,
                    should_stop=self._should_stop,
                    sleep=self._sleep,
                    still_owned=self._still_owned,
                ):
                    partition.update_checkpoint(batch[-1])
            self._report()

    def _still_owned(self, partition_id: str) -> bool:
        # The SDK closes a partition whose link another receiver took over (on_partition_close).
        self._report()
        return partition_id in self._owned

    def _report(self) -> None:
        now = time.monotonic()
        if self._on_progress is not None and now >= self._next_report:
            self._stats.partitions = sorted(self._owned, key=int)
            self._on_progress(self._stats)
            self._next_report = now + PROGRESS_INTERVAL_SECONDS

    def _on_error(self, partition: SdkPartitionContext | None, error: Exception) -> None:
        # The SDK retries receiving itself; this only tells what went wrong.
        where = f"partition {partition.partition_id}" if partition is not None else "receiving"
        logger.warning("%s: %s", where, hub_error_from(error, "receiving").message)

    def _on_partition_initialize(self, partition: SdkPartitionContext) -> None:
        self._owned.add(partition.partition_id)

    def _on_partition_close(self, partition: SdkPartitionContext, reason: object) -> None:
        self._owned.discard(partition.partition_id)

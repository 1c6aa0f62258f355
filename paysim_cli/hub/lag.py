"""The one lag model: how many events of a partition a consumer group has not processed yet, and where
Event Hubs consumers keep the checkpoints it is counted from (the SDK's and the Functions host's blobs)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.transport import EARLIEST, PartitionInfo
from paysim_cli.settings import Settings

# Management calls to Event Hubs take ~0.4 s each: every partition at once (32: the most by default).
MAX_PARTITION_READERS = 32


def partition_lag(info: PartitionInfo, checkpoint: int | None) -> int:
    """Events after `checkpoint` (the last sequence number processed); all held events without one.

    An empty partition has lag 0, and a checkpoint older than the oldest event held (retention ran)
    counts only what is still held.
    """
    if info.is_empty:
        return 0
    done = info.beginning_sequence_number - 1 if checkpoint is None else checkpoint
    return max(0, info.last_enqueued_sequence_number - max(done, info.beginning_sequence_number - 1))


def first_waiting_sequence_number(info: PartitionInfo, checkpoint: int | None) -> int:
    """The sequence number of the oldest event not processed yet (when the lag is positive)."""
    return max(info.beginning_sequence_number, -1 if checkpoint is None else checkpoint + 1)


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One partition's lag, as the pipeline host reports it."""

    partition_id: str
    last_enqueued_sequence_number: int
    checkpoint_sequence_number: int | None
    lag: int

    @classmethod
    def of(cls, info: PartitionInfo, checkpoint: int | None) -> PartitionLag:
        return cls(
            info.partition_id, info.last_enqueued_sequence_number, checkpoint, partition_lag(info, checkpoint)
        )


def read_checkpoint_blobs(settings: Settings, consumer_group: str, container: str) -> dict[str, int]:
    """Sequence numbers from the checkpoint blobs in `container`, in the layout both the SDK's
    `BlobCheckpointStore` and the Functions Event Hubs extension write."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    from paysim_cli.blob import container_client
    from paysim_cli.hub.eventhubs import hub_address

    # Both lower-case the whole prefix: namespace/hub/group/checkpoint/.
    prefix = f"{hub_address(settings)}/{consumer_group}/checkpoint/".lower()
    found: dict[str, int] = {}
    try:
        with container_client(settings, container) as client:
            for blob in client.list_blobs(name_starts_with=prefix, include=["metadata"]):
                number = (blob.metadata or {}).get("sequencenumber")
                if number is not None:
                    found[blob.name[len(prefix) :]] = int(number)
    except ResourceNotFoundError:
        return {}  # no container yet: nobody has checkpointed anything
    except AzureError as error:
        raise PaysimError(
            "checkpoints_unreadable",
            f"cannot list the checkpoint blobs in {container}: {type(error).__name__}: {error}",
            "check blob_account_url / blob_connection_string and the identity's "
            "Storage Blob Data Reader role",
            exit_code=ExitCode.UNAVAILABLE,
        ) from error
    return found


class LocalLag:
    """A consumer group's lag on the local event log, against the log's own checkpoints."""

    def __init__(self, settings: Settings, consumer_group: str) -> None:
        from paysim_cli.hub.local_log import LocalEventLog

        self._log = LocalEventLog.open(settings.event_log_path)
        self._group = consumer_group

    def read(self) -> list[PartitionLag]:
        return [
            PartitionLag.of(
                self._log.partition_info(partition),
                self._log.checkpointed_sequence_number(self._group, partition),
            )
            for partition in self._log.partition_ids()
        ]

    def close(self) -> None:
        self._log.close()


class EventHubLag:
    """A consumer group's lag on Event Hubs: partition properties against its checkpoint blobs in
    `container`. Keeps its client open between reads."""

    def __init__(self, settings: Settings, consumer_group: str, container: str) -> None:
        from paysim_cli.hub.eventhubs import open_eventhubs_consumer

        self._settings, self._group, self._container = settings, consumer_group, container
        self._consumer = open_eventhubs_consumer(settings, consumer_group, EARLIEST)
        self._partition_ids: list[str] | None = None
        self._readers = ThreadPoolExecutor(MAX_PARTITION_READERS, "eventhub-lag")  # threads start as needed

    def read(self) -> list[PartitionLag]:
        if self._partition_ids is None:
            self._partition_ids = self._consumer.partition_ids()
        infos = list(self._readers.map(self._consumer.partition_info, self._partition_ids))
        checkpoints = read_checkpoint_blobs(self._settings, self._group, self._container)
        return [PartitionLag.of(info, checkpoints.get(info.partition_id)) for info in infos]

    def close(self) -> None:
        self._readers.shutdown()
        self._consumer.close()

    def __enter__(self) -> EventHubLag:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

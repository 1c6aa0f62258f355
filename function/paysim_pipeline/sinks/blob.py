"""The raw-event archive: every batch as one gzip NDJSON blob, named by partition and sequence range.

The name depends only on the batch's coordinates, so writing a redelivered batch again overwrites the
same object; gzip without a timestamp makes the bytes identical too.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import re
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson

from paysim_pipeline.events import IncomingEvent
from paysim_pipeline.storable import encodable_json

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from paysim_pipeline.config import PipelineConfig

GZIP_LEVEL = 1  # level 6 halves throughput for about 15 % smaller objects
MAX_BACKOFF_SECONDS = 8.0


class RawEventsUnavailable(RuntimeError):
    """The batch's raw events could not be written: the batch must not commit."""


_RANGE = re.compile(r"(?P<first>[0-9]{20})-(?P<last>[0-9]{20})\.ndjson\.gz")


def blob_prefix(eventhub: str, consumer_group: str, partition_id: str | None = None) -> str:
    """Where a consumer group's raw events are, or one partition's."""
    group = f"{eventhub}/{consumer_group}/"
    return group if partition_id is None else f"{group}partition={partition_id}/"


def blob_name(eventhub: str, consumer_group: str, partition_id: str, first: int, last: int) -> str:
    return f"{blob_prefix(eventhub, consumer_group, partition_id)}{first:020d}-{last:020d}.ndjson.gz"


def sequence_range(name: str) -> tuple[int, int] | None:
    """(first, last) sequence numbers of the batch a raw-event blob holds, from its name."""
    match = _RANGE.fullmatch(name.rpartition("/")[2])
    return None if match is None else (int(match["first"]), int(match["last"]))


def decode_raw_events(data: bytes) -> Iterator[dict[str, object]]:
    """The envelopes of one raw-event blob, one per archived event (see encode_raw_events)."""
    for line in gzip.decompress(data).splitlines():
        if line:
            yield orjson.loads(line)


def encode_raw_events(
    events: Sequence[IncomingEvent], partition_id: str, undecodable: Collection[int] = ()
) -> bytes:
    """One JSON line per event: its coordinates and properties, and its body as JSON, or in base64
    for the positions in `undecodable` (not JSON, not UTF-8, too large)."""
    lines = []
    dumps, fragment = orjson.dumps, orjson.Fragment
    # One search of the whole batch tells whether any body needs looking at for line breaks.
    joined = b"".join(event.body for event in events)
    line_breaks = b"\n" in joined or b"\r" in joined
    for position, event in enumerate(events):
        envelope: dict[str, object] = {
            "partition_id": partition_id,
            "sequence_number": event.sequence_number,
            "offset": event.offset,
            "enqueued_time": event.enqueued_time,
            "partition_key": event.partition_key,
            "properties": event.properties,
        }
        body = event.body
        if position in undecodable:
            envelope["body_base64"] = base64.b64encode(body).decode("ascii")
        elif line_breaks and (b"\n" in body or b"\r" in body):
            # A line must not break: JSON may hold line breaks as whitespace, never inside a string.
            envelope["body"] = fragment(dumps(orjson.loads(body)))
        else:
            envelope["body"] = fragment(body)
        try:
            lines.append(dumps(envelope, option=orjson.OPT_UTC_Z, default=str))
        except TypeError:
            # Metadata from outside may hold what JSON text cannot (a lone surrogate, a 65-bit integer).
            for name in ("offset", "partition_key", "properties"):
                envelope[name] = encodable_json(envelope[name])
            lines.append(dumps(envelope, option=orjson.OPT_UTC_Z, default=str))
    lines.append(b"")
    return gzip.compress(b"\n".join(lines), compresslevel=GZIP_LEVEL, mtime=0)


class RawEventArchive:
    """Writes batches to one container, retrying a bounded number of times with exponential backoff."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        attempts: int,
        backoff_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._container = container
        self._attempts = attempts
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._container_ready = False
        # Uploads overlap the batch's database statements; a worker thread per concurrent batch is plenty.
        self._uploads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="raw-events")

    @property
    def container_url(self) -> str:
        """The container the archive writes to, as the SDK addresses it (with a SAS token if one is used)."""
        return str(self._container.url)

    @classmethod
    def from_config(cls, config: PipelineConfig) -> RawEventArchive:
        from azure.storage.blob import BlobServiceClient

        # The archive retries itself, with its own bounds: the SDK's retries would multiply them.
        options: dict[str, Any] = {"retry_total": 0, "connection_timeout": 5, "read_timeout": 30}
        if config.blob_connection_string is not None:
            service = BlobServiceClient.from_connection_string(config.blob_connection_string, **options)
        else:
            from azure.identity import DefaultAzureCredential

            service = BlobServiceClient(str(config.blob_account_url), DefaultAzureCredential(), **options)
        container = service.get_container_client(config.raw_events_container)
        return cls(container, attempts=config.blob_attempts, backoff_seconds=config.blob_backoff_seconds)

    def close(self) -> None:
        self._uploads.shutdown()
        self._container.close()

    def store(
        self, name: str, events: Sequence[IncomingEvent], partition_id: str, undecodable: Collection[int]
    ) -> Future[None]:
        """Encode and write a batch on a worker thread; the future raises RawEventsUnavailable."""
        return self._uploads.submit(
            lambda: self.write(name, encode_raw_events(events, partition_id, undecodable))
        )

    def write(self, name: str, data: bytes) -> None:
        """Upload (or overwrite) blob `name`; RawEventsUnavailable once every attempt has failed."""
        from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

        failure: AzureError | None = None
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(min(self._backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
            try:
                if not self._container_ready:
                    with contextlib.suppress(ResourceExistsError):
                        self._container.create_container()
                    self._container_ready = True
                self._container.upload_blob(name, data, overwrite=True)
                return
            except AzureError as error:
                # A container deleted since it was created is created again on the next attempt.
                self._container_ready = self._container_ready and not isinstance(error, ResourceNotFoundError)
                failure = error
        reason = str(failure).strip().splitlines()[0] if str(failure).strip() else type(failure).__name__
        raise RawEventsUnavailable(
            f"raw events not written to {self._container.container_name}/{name} "
            f"after {self._attempts} attempts: {reason}"
        ) from failure

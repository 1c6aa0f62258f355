"""The transport seam over Azure Event Hubs, through the azure-eventhub SDK (imported lazily).

The publisher resolves each event's partition client-side with the SDK's resolver (as the local log does)
and fills one `EventDataBatch` per partition until the SDK says it is full. The consumer turns the SDK's
callback-driven `receive_batch` into the seam's pull-style `receive`: one receiving thread per partition
feeds a queue that `receive` drains.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import urlparse

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.routing import PartitionRouter, event_size, event_too_large
from paysim_cli.hub.transport import (
    MAX_BATCH_BYTES,
    EventPosition,
    HubError,
    OutgoingEvent,
    PartitionInfo,
    PositionKind,
    PublishResult,
    ReceivedEvent,
    TransientHubError,
)
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.eventhub import (
        EventData,
        EventDataBatch,
        EventHubConsumerClient,
        EventHubProducerClient,
        PartitionContext,
    )

PARTITION_KEY_ANNOTATION = b"x-opt-partition-key"
# Attempts the SDK makes itself before an operation fails (its default); tests lower it.
SDK_RETRIES = 3
RECEIVE_BATCH_SIZE = 300


class _ErrorMapping(NamedTuple):
    transient: bool
    code: str
    hint: str
    exit_code: ExitCode = ExitCode.EXTERNAL


_RETRY_HINT = "check the namespace address and the network, then retry (with backoff)"
# By the AMQP error condition the service returned (the SDK keeps it without its "amqp:"/"com.microsoft:").
_BY_CONDITION = {
    "unauthorized-access": _ErrorMapping(
        False,
        "eventhub_unauthorized",
        "check the connection string's key, or give the identity the Azure Event Hubs Data Sender or "
        "Receiver role on the hub (`az login` for DefaultAzureCredential)",
        ExitCode.AUTH,
    ),
    "not-found": _ErrorMapping(
        False,
        "eventhub_not_found",
        "check eventhub_namespace, eventhub_name and the consumer group; `paysim infra output` writes them",
    ),
    "link:message-size-exceeded": _ErrorMapping(
        False,
        "event_too_large",
        "send smaller events; Event Hubs caps events and batches by tier",
        ExitCode.CONFIG,
    ),
    "server-busy": _ErrorMapping(
        True, "eventhub_throttled", "the namespace is throttling: retry with backoff or add throughput units"
    ),
}
# Else by the SDK exception class, most specific first along the class's MRO.
_BY_CLASS = {
    "AuthenticationError": _BY_CONDITION["unauthorized-access"],
    "ClientClosedError": _ErrorMapping(False, "eventhub_client_closed", "open a new publisher or consumer"),
    "EventDataError": _ErrorMapping(False, "eventhub_invalid_event", "check the event's body and properties"),
    "ConnectionLostError": _ErrorMapping(True, "eventhub_connection_lost", _RETRY_HINT),
    "ConnectError": _ErrorMapping(True, "eventhub_unavailable", _RETRY_HINT),
    "OperationTimeoutError": _ErrorMapping(True, "eventhub_timeout", _RETRY_HINT),
    "EventDataSendError": _ErrorMapping(True, "eventhub_send_failed", _RETRY_HINT),
    "EventHubError": _ErrorMapping(True, "eventhub_error", _RETRY_HINT),
}


def hub_error_from(error: Exception, doing: str) -> HubError:
    """The HubError (TransientHubError when retrying can help) for an azure-eventhub exception."""
    condition = str(getattr(error, "error", None) or "").lower()
    mapping = _BY_CONDITION.get(condition) or next(
        (_BY_CLASS[kind.__name__] for kind in type(error).__mro__ if kind.__name__ in _BY_CLASS),
        _BY_CLASS["EventHubError"],
    )
    detail = (getattr(error, "message", None) or str(error)).strip().splitlines()
    message = f"Event Hubs failed while {doing}: {detail[0] if detail else type(error).__name__}"
    kind = TransientHubError if mapping.transient else HubError
    return kind(mapping.code, message, mapping.hint, exit_code=mapping.exit_code)


@contextmanager
def _mapped_errors(doing: str) -> Iterator[None]:
    from azure.eventhub.exceptions import EventHubError

    try:
        yield
    except EventHubError as error:
        raise hub_error_from(error, doing) from error


def _connection_fields(settings: Settings) -> dict[str, str]:
    text = settings.eventhub_connection_string or ""
    return dict(part.split("=", 1) for part in text.split(";") if "=" in part)


def _eventhub_name(settings: Settings, fields: dict[str, str]) -> str:
    # A connection string scoped to one hub (EntityPath) names it; otherwise the settings do.
    return fields.get("EntityPath") or settings.eventhub_name


def hub_address(settings: Settings) -> str:
    """`namespace/hub`, for people: no key or signature in it."""
    fields = _connection_fields(settings)
    namespace = urlparse(fields["Endpoint"]).netloc if "Endpoint" in fields else settings.eventhub_namespace
    return f"{namespace or '?'}/{_eventhub_name(settings, fields)}"


def _client_arguments(settings: Settings) -> dict[str, Any]:
    """How to reach the hub: a connection string (emulator ones too) or namespace + Entra ID."""
    if settings.eventhub_connection_string:
        return {
            "conn_str": settings.eventhub_connection_string,
            "eventhub_name": _eventhub_name(settings, _connection_fields(settings)),
        }
    if settings.eventhub_namespace:
        from azure.identity import DefaultAzureCredential

        return {
            "fully_qualified_namespace": settings.eventhub_namespace,
            "eventhub_name": settings.eventhub_name,
            "credential": DefaultAzureCredential(),
        }
    raise PaysimError(
        "eventhub_not_configured",
        f"no Event Hubs connection is configured for env {settings.env}",
        "set eventhub_connection_string (PAYSIM_EVENTHUB_CONNECTION_STRING) or eventhub_namespace "
        "(PAYSIM_EVENTHUB_NAMESPACE); `paysim infra output` writes them",
        exit_code=ExitCode.CONFIG,
    )


def _create_client(client_class: Any, settings: Settings, **options: Any) -> Any:
    arguments = _client_arguments(settings) | options | {"retry_total": SDK_RETRIES}
    try:
        if "conn_str" in arguments:
            return client_class.from_connection_string(**arguments)
        return client_class(**arguments)
    except ValueError as error:
        raise PaysimError(
            "invalid_connection_string",
            f"the Event Hubs connection string is not usable: {error}",
            "copy it from the namespace's Shared access policies (Endpoint=sb://...;SharedAccessKeyName=...;"
            "SharedAccessKey=...), or use eventhub_namespace with Entra ID",
            exit_code=ExitCode.CONFIG,
        ) from error


def open_eventhubs_publisher(settings: Settings) -> EventHubsPublisher:
    from azure.eventhub import EventHubProducerClient

    return EventHubsPublisher(_create_client(EventHubProducerClient, settings))


def open_eventhubs_consumer(
    settings: Settings, consumer_group: str, starting_position: EventPosition
) -> EventHubsConsumer:
    from azure.eventhub import EventHubConsumerClient

    client = _create_client(EventHubConsumerClient, settings, consumer_group=consumer_group)
    return EventHubsConsumer(client, starting_position)


class EventHubsPublisher:
    """Publishes through an `EventHubProducerClient`; each batch to one partition is atomic."""

    def __init__(self, client: EventHubProducerClient) -> None:
        self._client = client
        self._router: PartitionRouter | None = None
        self._max_batch_bytes = MAX_BATCH_BYTES

    @property
    def max_batch_bytes(self) -> int:
        """1 MiB until a batch was created, then the limit the service announced for the link."""
        return self._max_batch_bytes

    def partition_ids(self) -> list[str]:
        with _mapped_errors("listing partitions"):
            return list(self._client.get_partition_ids())

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult:
        """Send the events in as few batches as fit. Batches are atomic, a call is not: when one fails
        the error says how many events the batches before it delivered."""
        from azure.eventhub.exceptions import EventHubError

        self._router = self._router or PartitionRouter(self.partition_ids())
        by_partition: dict[str, int] = {}
        batches = 0

        def send(partition_id: str, batch: EventDataBatch) -> None:
            nonlocal batches
            self._client.send_batch(batch)
            batches += 1
            by_partition[partition_id] = by_partition.get(partition_id, 0) + len(batch)

        try:
            for partition_id, routed in self._router.group(events).items():
                batch: EventDataBatch | None = None
                for event in routed:
                    data = _event_data(event)
                    if batch is not None and not _added(batch, data):
                        send(partition_id, batch)
                        batch = None
                    if batch is None:
                        batch = self._client.create_batch(partition_id=partition_id)
                        self._max_batch_bytes = batch.max_size_in_bytes
                        if not _added(batch, data):
                            delivered = sum(by_partition.values())
                            raise event_too_large(
                                event_size(event),
                                batch.max_size_in_bytes,
                                subject=f"an event ({delivered} delivered before it)",
                            )
                if batch is not None:
                    send(partition_id, batch)
        except EventHubError as error:
            delivered = sum(by_partition.values())
            doing = f"publishing {len(events)} events ({delivered} delivered before the failure)"
            raise hub_error_from(error, doing) from error
        return PublishResult(events=sum(by_partition.values()), batches=batches, by_partition=by_partition)

    def close(self) -> None:
        self._client.close()


def _event_data(event: OutgoingEvent) -> EventData:
    from azure.eventhub import EventData

    data = EventData(event.body)
    if event.properties:
        data.properties = {name: _property_value(value) for name, value in event.properties.items()}
    if event.partition_key is not None:
        # Sent to an explicit partition, the key still travels with the event, as the SDK's buffered
        # producer does, so consumers see it.
        message = data.raw_amqp_message
        message.annotations = {**(message.annotations or {}), PARTITION_KEY_ANNOTATION: event.partition_key}
    return data


_INT32 = range(-(2**31), 2**31)


def _property_value(value: str | int | float | bool) -> Any:
    """The SDK's encoder writes every Python int as an AMQP int (32 bits) and refuses larger ones, such
    as the simulator's `intended_ms` (epoch ms): those go as an AMQP long, in the encoder's typed form."""
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT32:
        from paysim_cli.hub.amqp.codec import LONG, TYPE, VALUE

        return {TYPE: LONG, VALUE: value}
    return value


def _added(batch: EventDataBatch, data: EventData) -> bool:
    try:
        batch.add(data)
    except ValueError:  # the SDK's way of saying the batch is full
        return False
    return True


def _sdk_position(position: EventPosition) -> int | str | datetime:
    """The SDK's `starting_position`: "-1" is the oldest event, "@latest" only new ones."""
    if position.kind is PositionKind.SEQUENCE:
        return position.sequence_number
    if position.kind is PositionKind.TIME and position.enqueued_time is not None:
        return position.enqueued_time
    return "@latest" if position.kind is PositionKind.END else "-1"


def _received(data: EventData, partition_id: str) -> ReceivedEvent:
    from azure.eventhub.amqp import AmqpMessageBodyType

    sequence_number, offset, enqueued_time = data.sequence_number, data.offset, data.enqueued_time
    if sequence_number is None or offset is None or enqueued_time is None:
        raise HubError(
            "eventhub_invalid_event",
            f"an event from partition {partition_id} arrived without its system properties",
            "read from an Event Hubs namespace or its emulator",
        )
    if data.body_type != AmqpMessageBodyType.DATA:
        raise HubError(
            "eventhub_invalid_event",
            f"event {sequence_number} of partition {partition_id} has an AMQP {data.body_type.value} body",
            "paysim reads events whose body is bytes (AMQP data sections)",
        )
    key = data.partition_key
    return ReceivedEvent(
        body=b"".join(cast(Iterable[bytes], data.body)),
        partition_id=partition_id,
        sequence_number=int(sequence_number),
        offset=int(offset),
        enqueued_time=enqueued_time,
        partition_key=key.decode() if isinstance(key, bytes) else key,
        properties={
            _text(name): _text(value) if isinstance(value, bytes) else value
            for name, value in (data.properties or {}).items()
        },
    )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _PartitionStream:
    """One partition's receiving thread and the events it has delivered but nobody has taken yet."""

    def __init__(self, client: EventHubConsumerClient, partition_id: str, position: EventPosition) -> None:
        self._client = client
        self.partition_id = partition_id
        self._position = position
        self._arrivals: queue.Queue[list[EventData] | Exception] = queue.Queue()
        self._pending: deque[ReceivedEvent] = deque()
        self._thread = threading.Thread(target=self._run, name=f"eventhub-{partition_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._client.receive_batch(
                on_event_batch=self._on_batch,
                on_error=self._on_error,
                partition_id=self.partition_id,
                starting_position=_sdk_position(self._position),
                starting_position_inclusive=True,
                max_batch_size=RECEIVE_BATCH_SIZE,
            )
        except Exception as error:  # noqa: BLE001 - handed to the reading thread, which raises it
            self._arrivals.put(error)

    def _on_batch(self, context: PartitionContext, events: list[EventData]) -> None:
        self._arrivals.put(events)

    def _on_error(self, context: PartitionContext | None, error: Exception) -> None:
        self._arrivals.put(error)

    def take(self, max_events: int, max_wait_seconds: float) -> list[ReceivedEvent]:
        """Up to `max_events` events: those already here, else the first to arrive within the wait."""
        deadline = time.monotonic() + max_wait_seconds
        while len(self._pending) < max_events:
            try:
                if self._pending:
                    arrival = self._arrivals.get_nowait()
                else:
                    arrival = self._arrivals.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if isinstance(arrival, Exception):
                raise hub_error_from(arrival, f"receiving from partition {self.partition_id}")
            self._pending.extend(_received(data, self.partition_id) for data in arrival)
        return [self._pending.popleft() for _ in range(min(max_events, len(self._pending)))]

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class EventHubsConsumer:
    """Reads through an `EventHubConsumerClient`.

    Checkpoints stay in this process: Event Hubs keeps none itself, and the pipeline keeps its own (the
    Functions host in Blob Storage, `paysim pipeline` in PostgreSQL). So every partition starts at the
    consumer's starting position.
    """

    def __init__(self, client: EventHubConsumerClient, starting_position: EventPosition) -> None:
        self._client = client
        self._starting_position = starting_position
        self._streams: dict[str, _PartitionStream] = {}
        self._checkpoints: dict[str, int] = {}

    def partition_ids(self) -> list[str]:
        with _mapped_errors("listing partitions"):
            return list(self._client.get_partition_ids())

    def partition_info(self, partition_id: str) -> PartitionInfo:
        with _mapped_errors(f"reading the properties of partition {partition_id}"):
            properties = self._client.get_partition_properties(partition_id)
        return PartitionInfo(
            partition_id=partition_id,
            beginning_sequence_number=int(properties["beginning_sequence_number"]),
            last_enqueued_sequence_number=int(properties["last_enqueued_sequence_number"]),
            last_enqueued_offset=int(properties["last_enqueued_offset"]),
            # An empty partition reports the broker's "no time" (year 1), as the service does.
            last_enqueued_time=None if properties["is_empty"] else properties["last_enqueued_time_utc"],
            is_empty=bool(properties["is_empty"]),
        )

    def receive(self, partition_id: str, *, max_events: int, max_wait_seconds: float) -> list[ReceivedEvent]:
        stream = self._streams.get(partition_id)
        if stream is None:
            stream = self._streams[partition_id] = _PartitionStream(
                self._client, partition_id, self._starting_position
            )
        return stream.take(max_events, max_wait_seconds)

    def checkpoint(self, partition_id: str, sequence_number: int, offset: int) -> None:
        self._checkpoints[partition_id] = sequence_number

    def checkpointed_sequence_number(self, partition_id: str) -> int | None:
        return self._checkpoints.get(partition_id)

    def close(self) -> None:
        self._client.close()  # ends every receive_batch loop
        for stream in self._streams.values():
            stream.join(timeout=10)

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import urlparse

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.amqp.encoding import outgoing_message
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
def mapped_errors(doing: str) -> Iterator[None]:
    """SDK errors raised inside become HubErrors saying what was being done."""
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


def create_client(client_class: Any, settings: Settings, **options: Any) -> Any:
    """An SDK client (producer or consumer) for the configured hub, with paysim's retry count."""
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

    return EventHubsPublisher(create_client(EventHubProducerClient, settings))


def open_eventhubs_consumer(
    settings: Settings, consumer_group: str, starting_position: EventPosition
) -> EventHubsConsumer:
    from azure.eventhub import EventHubConsumerClient

    client = create_client(EventHubConsumerClient, settings, consumer_group=consumer_group)
    return EventHubsConsumer(client, starting_position)


class EventHubsPublisher:
    """Publishes through an `EventHubProducerClient`; each batch to one partition is atomic."""

    def __init__(self, client: EventHubProducerClient) -> None:
        self._client = client
        self._router: PartitionRouter | None = None
        self._max_batch_bytes = MAX_BATCH_BYTES
        self._senders: ThreadPoolExecutor | None = None  # one thread per partition, once needed

    @property
    def max_batch_bytes(self) -> int:
        """1 MiB until a batch was created, then the limit the service announced for the link."""
        return self._max_batch_bytes

    def partition_ids(self) -> list[str]:
        with mapped_errors("listing partitions"):
            return list(self._client.get_partition_ids())

    def warm_up(self) -> None:
        """Connect, read the partition ids and the link's size limit, and attach every partition's sender
        link, sending nothing. The SDK opens a partition's link on the first send to it, and each open
        takes ~0.5 s of the SDK's polling: events due meanwhile would wait that long."""
        self._router = PartitionRouter(self.partition_ids())
        with mapped_errors("opening the partitions' sender links"):
            self._max_batch_bytes = self._client.create_batch().max_size_in_bytes
            for partition_id in self._router.partition_ids:
                open_partition_link(self._client, partition_id)

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult:
        """Send the events in as few batches as fit: each partition's in order, the partitions at once,
        so that one partition's batch is built while another's waits for the service's acknowledgement
        (each partition has its own link and connection). Batches are atomic, a call is not: when one
        fails, the error says how many events the call delivered."""
        from azure.eventhub.exceptions import EventHubError

        self._router = self._router or PartitionRouter(self.partition_ids())
        direct = _direct_batches()
        groups = self._router.group(events)
        delivered = _Delivered()
        failures: list[BaseException] = []
        if len(groups) == 1:
            (partition_id, routed), *_ = groups.items()
            failures = _failures(lambda: self._send_partition(partition_id, routed, direct, delivered))
        else:
            if self._senders is None:
                self._senders = ThreadPoolExecutor(len(self._router.partition_ids), "eventhub-send")
            sends = [
                self._senders.submit(self._send_partition, partition_id, routed, direct, delivered)
                for partition_id, routed in groups.items()
            ]
            failures = [failure for send in sends if (failure := send.exception()) is not None]
        for failure in failures:
            if isinstance(failure, EventHubError):
                doing = f"publishing {len(events)} events ({delivered.events} delivered)"
                raise hub_error_from(failure, doing) from failure
            raise failure
        return PublishResult(delivered.events, delivered.batches, dict(delivered.by_partition))

    def _send_partition(
        self, partition_id: str, routed: Sequence[OutgoingEvent], direct: bool, delivered: _Delivered
    ) -> None:
        batch: EventDataBatch | None = None
        for event in routed:
            if batch is not None and not _added(batch, event, direct):
                self._client.send_batch(batch)
                delivered.add(partition_id, len(batch))
                batch = None
            if batch is None:
                batch = self._client.create_batch(partition_id=partition_id)
                self._max_batch_bytes = batch.max_size_in_bytes
                if not _added(batch, event, direct):
                    raise event_too_large(
                        event_size(event),
                        batch.max_size_in_bytes,
                        subject=f"an event ({delivered.events} delivered before it)",
                    )
        if batch is not None:
            self._client.send_batch(batch)
            delivered.add(partition_id, len(batch))

    def close(self) -> None:
        if self._senders is not None:
            self._senders.shutdown()
        self._client.close()


class _Delivered:
    """What one publish call's batches delivered so far, added to by its partitions' threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events = self.batches = 0
        self.by_partition: dict[str, int] = {}

    def add(self, partition_id: str, events: int) -> None:
        with self._lock:
            self.events += events
            self.batches += 1
            self.by_partition[partition_id] = self.by_partition.get(partition_id, 0) + events


def _failures(send: Callable[[], None]) -> list[BaseException]:
    try:
        send()
    except Exception as failure:  # noqa: BLE001 - handled as the threads' failures are, by the caller
        return [failure]
    return []


# The producer client's internals `open_partition_link` uses: the SDK has no public way to open a
# partition's link without sending (tests/unit/hub/test_eventhubs_adapter.py pins them, as the codec test
# pins the AMQP internals: an upgrade that moves them fails there).
SDK_PRODUCER_INTERNALS = ("_start_producer", "_producers")


def open_partition_link(client: EventHubProducerClient, partition_id: str) -> None:
    """Attach the client's sender link to `partition_id`, as its first send to that partition would."""
    client._start_producer(partition_id)  # see SDK_PRODUCER_INTERNALS
    producer = client._producers[partition_id]
    if producer is not None:  # _start_producer just made it
        producer._open_with_retry()


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


# The batch internals `_added` writes when it adds an event directly (pinned like the producer's).
SDK_BATCH_INTERNALS = ("_message", "_size", "_count")


def _direct_batches() -> bool:
    """Whether events may go into batches encoded directly: not when azure-core tracing is on, for then
    the SDK's `add` also stamps each message with its trace context."""
    from azure.core.settings import settings

    return settings.tracing_implementation() is None


def _added(batch: EventDataBatch, event: OutgoingEvent, direct: bool) -> bool:
    """Add `event` to `batch`; False when the batch is full.

    Directly, the event's message is encoded once, byte for byte as the SDK encodes its `EventData`
    (hub/amqp/encoding.py; tests compare the bytes), and appended to the batch's message as `add` would
    do: `add` encodes every event twice, once to size it and once to keep it, ~90 µs of the ~130 µs an
    event costs the simulator.
    """
    if not direct:
        try:
            batch.add(_event_data(event))
        except ValueError:  # the SDK's way of saying the batch is full
            return False
        return True
    message = outgoing_message(event.body, event.partition_key, event.properties)
    # What a message adds to the batch: itself in a data section (descriptor and vbin8 or vbin32 size).
    size = batch._size + len(message) + (5 if len(message) < 256 else 8)
    if size > batch.max_size_in_bytes:
        return False
    batch._message.data.append(message)
    batch._size = size
    batch._count += 1
    return True


def _sdk_position(position: EventPosition) -> int | str | datetime:
    """The SDK's `starting_position`: "-1" is the oldest event, "@latest" only new ones."""
    if position.kind is PositionKind.SEQUENCE:
        return position.sequence_number
    if position.kind is PositionKind.TIME and position.enqueued_time is not None:
        return position.enqueued_time
    return "@latest" if position.kind is PositionKind.END else "-1"


def received_event(data: EventData, partition_id: str) -> ReceivedEvent:
    """The seam's event for one the SDK received."""
    sequence_number, offset, enqueued_time = data.sequence_number, data.offset, data.enqueued_time
    if sequence_number is None or offset is None or enqueued_time is None:
        raise HubError(
            "eventhub_invalid_event",
            f"an event from partition {partition_id} arrived without its system properties",
            "read from an Event Hubs namespace or its emulator",
        )
    key = data.partition_key
    return ReceivedEvent(
        body=_body(data),
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


def _body(data: EventData) -> bytes:
    """The body's bytes; an AMQP value or sequence body (which paysim never sends) as its encoded body
    section, as the local log keeps one, so the pipeline fails that event instead of the batch."""
    from azure.eventhub.amqp import AmqpMessageBodyType

    if data.body_type == AmqpMessageBodyType.DATA:
        return b"".join(cast(Iterable[bytes], data.body))
    from paysim_cli.hub.amqp.codec import Message, encode_message

    if data.body_type == AmqpMessageBodyType.VALUE:
        return encode_message(Message(value=data.body))
    return encode_message(Message(sequence=list(cast(Iterable[Any], data.body))))


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
            self._pending.extend(received_event(data, self.partition_id) for data in arrival)
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
        with mapped_errors("listing partitions"):
            return list(self._client.get_partition_ids())

    def partition_info(self, partition_id: str) -> PartitionInfo:
        with mapped_errors(f"reading the properties of partition {partition_id}"):
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

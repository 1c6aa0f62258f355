"""The Event Hubs adapter's own logic: batch filling, routing, conversion, positions, error mapping.

Here the SDK's network half is replaced by small clients that hand out the SDK's real `EventDataBatch`
objects (so the SDK itself decides when a batch is full) and deliver real `EventData` objects carrying
the annotations the service sets, so each rule of the adapter is tested alone. The whole SDK, AMQP
sessions, `$cbs` tokens and `receive_batch`'s load balancing included, runs against paysim's own AMQP
endpoint in tests/integration/hub/amqp and tests/integration/pipeline_eventhub. Not exercised anywhere
here: a live namespace's own size accounting, throttling under load and Entra ID token acquisition.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.eventhub import EventData, EventDataBatch
from azure.eventhub.amqp import AmqpAnnotatedMessage
from azure.eventhub.exceptions import (
    AuthenticationError,
    ClientClosedError,
    ConnectError,
    ConnectionLostError,
    EventDataError,
    EventDataSendError,
    EventHubError,
    OperationTimeoutError,
)

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub import eventhubs
from paysim_cli.hub.amqp import codec
from paysim_cli.hub.eventhubs import (
    EventHubsConsumer,
    EventHubsPublisher,
    _client_arguments,
    hub_address,
    hub_error_from,
    open_eventhubs_consumer,
    open_eventhubs_publisher,
)
from paysim_cli.hub.routing import partition_index_for_key
from paysim_cli.hub.transport import (
    MAX_BATCH_BYTES,
    EventPosition,
    HubError,
    OutgoingEvent,
    PartitionInfo,
    TransientHubError,
)
from paysim_cli.local.processes import free_port
from paysim_cli.settings import Settings


class RecordedBatch(EventDataBatch):
    """The SDK's batch, its messages read back as the service would decode them."""

    def __init__(self, max_size_in_bytes: int, partition_id: str) -> None:
        super().__init__(max_size_in_bytes=max_size_in_bytes, partition_id=partition_id)
        self.partition_id = partition_id

    @property
    def added(self) -> list[Any]:
        return [codec.decode_message(bytes(message)) for message in self._message.data]


class ProducerClient:
    """EventHubProducerClient without the network: real batches, sends recorded or failed on demand."""

    def __init__(
        self, max_batch_bytes: int = 1024, fail_after: int | None = None, failure: Exception | None = None
    ) -> None:
        self.max_batch_bytes = max_batch_bytes
        self.fail_after = fail_after
        self.failure = failure
        self.sent: list[RecordedBatch] = []
        self.closed = False
        self._lock = threading.Lock()  # the publisher sends partitions from threads of its own

    def get_partition_ids(self) -> list[str]:
        return ["0", "1", "2", "3"]

    def create_batch(self, *, partition_id: str) -> RecordedBatch:
        return RecordedBatch(self.max_batch_bytes, partition_id)

    def send_batch(self, batch: RecordedBatch) -> None:
        with self._lock:
            if self.failure is not None and len(self.sent) == self.fail_after:
                raise self.failure
            self.sent.append(batch)

    def close(self) -> None:
        self.closed = True


def received(sequence_number: int, body: bytes, key: bytes | None = None) -> EventData:
    """An EventData as the service delivers it: system properties in the message annotations."""
    data = EventData(body)
    data.raw_amqp_message.annotations = {
        b"x-opt-sequence-number": sequence_number,
        b"x-opt-offset": str(sequence_number * 100).encode(),
        b"x-opt-enqueued-time": 1_738_324_800_000 + sequence_number,
        **({b"x-opt-partition-key": key} if key else {}),
    }
    data.raw_amqp_message.application_properties = {b"source": b"simulator", b"attempt": 2}
    return data


class ConsumerClient:
    """EventHubConsumerClient without the network: `receive_batch` delivers a script, then blocks until
    `close`, as the SDK's does."""

    def __init__(self, script: dict[str, list[list[EventData] | Exception]]) -> None:
        self.script = script
        self.receive_calls: list[dict[str, Any]] = []
        self._closed = threading.Event()

    def receive_batch(
        self, on_event_batch: Callable[..., None], on_error: Callable[..., None], **options: Any
    ) -> None:
        self.receive_calls.append(options)
        for delivery in self.script[options["partition_id"]]:
            if isinstance(delivery, Exception):
                on_error(None, delivery)
            else:
                on_event_batch(None, delivery)
        self._closed.wait()

    def get_partition_ids(self) -> list[str]:
        return ["0", "1"]

    def get_partition_properties(self, partition_id: str) -> dict[str, Any]:
        if partition_id == "9":
            raise EventHubError("entity not found")
        if partition_id == "8":  # empty: the service reports the broker's "no time", year 1
            return {
                "beginning_sequence_number": -1,
                "last_enqueued_sequence_number": -1,
                "last_enqueued_offset": "-1",
                "last_enqueued_time_utc": datetime(1, 1, 1, tzinfo=UTC),
                "is_empty": True,
            }
        return {
            "eventhub_name": "payments",
            "id": partition_id,
            "beginning_sequence_number": 3,
            "last_enqueued_sequence_number": 41,
            "last_enqueued_offset": "4100",
            "last_enqueued_time_utc": datetime(2025, 1, 31, tzinfo=UTC),
            "is_empty": False,
        }

    def close(self) -> None:
        self._closed.set()


def test_events_fill_batches_per_partition_in_order() -> None:
    client = ProducerClient(max_batch_bytes=400)
    publisher = EventHubsPublisher(client)
    events = [OutgoingEvent(f"event-{number:03d}".encode() * 5, partition_id="1") for number in range(12)]
    events.append(OutgoingEvent(b"keyed", partition_key="merchant-1", properties={"source": "test"}))

    result = publisher.publish(events)

    by_partition = {batch.partition_id for batch in client.sent}
    key_partition = str(partition_index_for_key("merchant-1", 4))
    assert by_partition == {"1", key_partition}
    in_partition_1 = [
        message.data[0].decode()
        for batch in client.sent
        if batch.partition_id == "1"
        for message in batch.added
    ]
    assert in_partition_1 == [f"event-{number:03d}" * 5 for number in range(12)]
    assert result.events == 13
    assert result.batches == len(client.sent) > 2
    assert dict(result.by_partition) == {"1": 12, key_partition: 1}
    assert all(batch.size_in_bytes <= 400 for batch in client.sent)
    (keyed,) = [data for batch in client.sent if batch.partition_id == key_partition for data in batch.added]
    assert keyed.message_annotations == {b"x-opt-partition-key": b"merchant-1"}
    assert keyed.application_properties == {b"source": b"test"}
    assert publisher.max_batch_bytes == 400


def test_max_batch_bytes_is_1_mib_until_the_link_says_otherwise() -> None:
    publisher = EventHubsPublisher(ProducerClient())
    assert publisher.max_batch_bytes == MAX_BATCH_BYTES
    assert publisher.partition_ids() == ["0", "1", "2", "3"]


def test_an_event_no_batch_can_hold_is_event_too_large() -> None:
    client = ProducerClient(max_batch_bytes=200)
    publisher = EventHubsPublisher(client)
    with pytest.raises(HubError) as raised:
        publisher.publish(
            [OutgoingEvent(b"small", partition_id="0"), OutgoingEvent(b"x" * 500, partition_id="0")]
        )
    assert raised.value.code == "event_too_large"
    assert raised.value.message.startswith("an event (1 delivered before it) has ")
    assert "200-byte limit" in raised.value.message
    assert [len(batch) for batch in client.sent] == [1]


def test_a_failed_send_says_how_much_was_delivered() -> None:
    client = ProducerClient(max_batch_bytes=200, fail_after=1, failure=ConnectionLostError("link detached"))
    publisher = EventHubsPublisher(client)
    with pytest.raises(TransientHubError) as raised:
        publisher.publish([OutgoingEvent(b"x" * 60, partition_id="0") for _ in range(6)])
    assert raised.value.code == "eventhub_connection_lost"
    delivered = len(client.sent[0])
    assert 0 < delivered < 6
    assert f"publishing 6 events ({delivered} delivered)" in raised.value.message


def test_partitions_are_sent_at_once_and_a_failure_counts_every_partitions_deliveries() -> None:
    client = ProducerClient(
        max_batch_bytes=10_000, fail_after=2, failure=ConnectionLostError("link detached")
    )
    publisher = EventHubsPublisher(client)
    events = [OutgoingEvent(f"{number}".encode(), partition_id=str(number % 4)) for number in range(40)]
    with pytest.raises(TransientHubError) as raised:
        publisher.publish(events)
    delivered = sum(len(batch) for batch in client.sent)
    assert delivered == 20  # two of the four partitions' batches went, each of 10 events
    assert f"publishing 40 events ({delivered} delivered)" in raised.value.message
    publisher.close()


def test_close_closes_the_client() -> None:
    client = ProducerClient()
    EventHubsPublisher(client).close()
    assert client.closed


@pytest.mark.parametrize(
    ("error", "transient", "code", "exit_code"),
    [
        (AuthenticationError("bad key"), False, "eventhub_unauthorized", ExitCode.AUTH),
        (ClientClosedError("closed"), False, "eventhub_client_closed", ExitCode.EXTERNAL),
        (EventDataError("bad"), False, "eventhub_invalid_event", ExitCode.EXTERNAL),
        (ConnectionLostError("lost"), True, "eventhub_connection_lost", ExitCode.EXTERNAL),
        (ConnectError("refused"), True, "eventhub_unavailable", ExitCode.EXTERNAL),
        (OperationTimeoutError("slow"), True, "eventhub_timeout", ExitCode.EXTERNAL),
        (EventDataSendError("nack"), True, "eventhub_send_failed", ExitCode.EXTERNAL),
        (EventHubError("odd"), True, "eventhub_error", ExitCode.EXTERNAL),
    ],
)
def test_sdk_exceptions_map_by_class(
    error: Exception, transient: bool, code: str, exit_code: ExitCode
) -> None:
    mapped = hub_error_from(error, "doing a thing")
    assert isinstance(mapped, TransientHubError) is transient
    assert (mapped.code, mapped.exit_code) == (code, exit_code)
    assert mapped.message.startswith("Event Hubs failed while doing a thing: ")
    assert mapped.hint


@pytest.mark.parametrize(
    ("condition", "transient", "code"),
    [
        ("server-busy", True, "eventhub_throttled"),
        ("not-found", False, "eventhub_not_found"),
        ("unauthorized-access", False, "eventhub_unauthorized"),
        ("link:message-size-exceeded", False, "event_too_large"),
    ],
)
def test_the_service_error_condition_decides_first(condition: str, transient: bool, code: str) -> None:
    error = EventDataSendError("the service said no")
    error.error = condition
    mapped = hub_error_from(error, "sending")
    assert (isinstance(mapped, TransientHubError), mapped.code) == (transient, code)


def test_receive_converts_events_and_keeps_the_rest_for_the_next_call() -> None:
    client = ConsumerClient(
        {"0": [[received(5, b"five", b"merchant-1"), received(6, b"six")], [received(7, b"seven")]]}
    )
    consumer = EventHubsConsumer(client, EventPosition.parse("seq:5"))
    try:
        first = consumer.receive("0", max_events=2, max_wait_seconds=5)
        rest = consumer.receive("0", max_events=10, max_wait_seconds=5)
    finally:
        consumer.close()
    assert [(event.sequence_number, event.body) for event in first + rest] == [
        (5, b"five"),
        (6, b"six"),
        (7, b"seven"),
    ]
    five = first[0]
    assert (five.partition_id, five.offset, five.partition_key) == ("0", 500, "merchant-1")
    assert five.enqueued_time == datetime(2025, 1, 31, 12, 0, 0, 5000, tzinfo=UTC)
    assert dict(five.properties) == {"source": "simulator", "attempt": 2}
    assert first[1].partition_key is None
    (call,) = client.receive_calls
    assert (call["starting_position"], call["starting_position_inclusive"]) == (5, True)


def test_receive_returns_nothing_once_the_wait_is_over() -> None:
    consumer = EventHubsConsumer(ConsumerClient({"1": []}), EventPosition.parse("end"))
    try:
        assert consumer.receive("1", max_events=10, max_wait_seconds=0.01) == []
    finally:
        consumer.close()


@pytest.mark.parametrize(
    ("position", "sdk_position"),
    [
        ("start", "-1"),
        ("end", "@latest"),
        ("seq:12", 12),
        ("time:2025-01-31T12:00:00Z", datetime(2025, 1, 31, 12, tzinfo=UTC)),
    ],
)
def test_positions_become_the_sdks(position: str, sdk_position: object) -> None:
    client = ConsumerClient({"0": [[received(1, b"x")]]})
    consumer = EventHubsConsumer(client, EventPosition.parse(position))
    try:
        consumer.receive("0", max_events=1, max_wait_seconds=5)
    finally:
        consumer.close()
    assert client.receive_calls[0]["starting_position"] == sdk_position


def test_a_receive_error_surfaces_mapped_on_the_next_receive() -> None:
    client = ConsumerClient({"0": [[received(1, b"x")], ConnectionLostError("link detached")]})
    consumer = EventHubsConsumer(client, EventPosition.parse("start"))
    try:
        assert len(consumer.receive("0", max_events=1, max_wait_seconds=5)) == 1
        with pytest.raises(TransientHubError) as raised:
            consumer.receive("0", max_events=1, max_wait_seconds=5)
    finally:
        consumer.close()
    assert raised.value.code == "eventhub_connection_lost"
    assert "receiving from partition 0" in raised.value.message


def test_an_sdk_failure_to_start_receiving_surfaces_too() -> None:
    client = ConsumerClient({})  # receive_batch raises KeyError for an unscripted partition
    consumer = EventHubsConsumer(client, EventPosition.parse("start"))
    try:
        with pytest.raises(HubError) as raised:
            consumer.receive("0", max_events=1, max_wait_seconds=5)
    finally:
        consumer.close()
    assert raised.value.code == "eventhub_error"


def _prepared(message: AmqpAnnotatedMessage) -> EventData:
    # The SDK builds received events from the wire message; a prepared one will do.
    return EventData._from_message(None, message)


def test_an_event_without_system_properties_is_refused() -> None:
    consumer = EventHubsConsumer(ConsumerClient({"0": [[EventData(b"bare")]]}), EventPosition.parse("start"))
    try:
        with pytest.raises(HubError) as raised:
            consumer.receive("0", max_events=1, max_wait_seconds=5)
    finally:
        consumer.close()
    assert raised.value.code == "eventhub_invalid_event"
    assert "without its system properties" in raised.value.message


@pytest.mark.parametrize(
    ("body", "section"), [({"value_body": {"a": 1}}, "value"), ({"sequence_body": [[1, 2]]}, "sequence")]
)
def test_a_value_or_sequence_body_arrives_as_its_encoded_section(body: dict[str, Any], section: str) -> None:
    """So the pipeline fails that one event (it is no JSON), and keeps what came, instead of the batch."""
    system = {b"x-opt-sequence-number": 1, b"x-opt-offset": b"1", b"x-opt-enqueued-time": 1}
    event = _prepared(AmqpAnnotatedMessage(annotations=system, **body))
    consumer = EventHubsConsumer(ConsumerClient({"0": [[event]]}), EventPosition.parse("start"))
    try:
        (received_event,) = consumer.receive("0", max_events=1, max_wait_seconds=5)
    finally:
        consumer.close()
    decoded = codec.decode_message(received_event.body)
    assert getattr(decoded, section) is not None


def test_partition_properties_and_in_process_checkpoints() -> None:
    consumer = EventHubsConsumer(ConsumerClient({}), EventPosition.parse("start"))
    assert consumer.partition_ids() == ["0", "1"]
    assert consumer.partition_info("0") == PartitionInfo(
        "0", 3, 41, 4100, datetime(2025, 1, 31, tzinfo=UTC), is_empty=False
    )
    assert consumer.partition_info("8") == PartitionInfo("8", -1, -1, -1, None, is_empty=True)
    with pytest.raises(TransientHubError):
        consumer.partition_info("9")
    assert consumer.checkpointed_sequence_number("0") is None
    consumer.checkpoint("0", 40, 4000)
    assert consumer.checkpointed_sequence_number("0") == 40
    consumer.close()


CONNECTION = (
    "Endpoint=sb://paysim-dev.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0"
)


def test_a_connection_string_names_the_hub_unless_it_is_scoped_to_one() -> None:
    arguments = _client_arguments(
        Settings(env="dev", eventhub_connection_string=CONNECTION, eventhub_name="orders")
    )
    assert arguments == {"conn_str": CONNECTION, "eventhub_name": "orders"}
    scoped = CONNECTION + ";EntityPath=payments-dev"
    assert (
        _client_arguments(Settings(env="dev", eventhub_connection_string=scoped))["eventhub_name"]
        == "payments-dev"
    )


def test_the_hub_address_shows_no_secret() -> None:
    scoped = CONNECTION + ";EntityPath=payments-dev"
    assert hub_address(Settings(env="dev", eventhub_connection_string=scoped)) == (
        "paysim-dev.servicebus.windows.net/payments-dev"
    )
    namespace = Settings(env="dev", eventhub_namespace="paysim-dev.servicebus.windows.net")
    assert hub_address(namespace) == "paysim-dev.servicebus.windows.net/payments"


def test_a_namespace_uses_entra_id() -> None:
    from azure.identity import DefaultAzureCredential

    arguments = _client_arguments(Settings(env="dev", eventhub_namespace="paysim-dev.servicebus.windows.net"))
    assert arguments["fully_qualified_namespace"] == "paysim-dev.servicebus.windows.net"
    assert arguments["eventhub_name"] == "payments"
    assert isinstance(arguments["credential"], DefaultAzureCredential)
    client = open_eventhubs_publisher(
        Settings(env="dev", eventhub_namespace="paysim-dev.servicebus.windows.net")
    )
    client.close()  # built without connecting: the SDK connects on first use


def test_no_connection_configured_is_a_config_error() -> None:
    with pytest.raises(PaysimError) as raised:
        open_eventhubs_publisher(Settings(env="dev"))
    assert (raised.value.code, raised.value.exit_code) == ("eventhub_not_configured", ExitCode.CONFIG)


def test_a_malformed_connection_string_is_a_config_error_with_the_secret_kept_out() -> None:
    with pytest.raises(PaysimError) as raised:
        open_eventhubs_consumer(
            Settings(env="dev", eventhub_connection_string="SharedAccessKey=c2VjcmV0"),
            "$Default",
            EventPosition.parse("end"),
        )
    assert (raised.value.code, raised.value.exit_code) == ("invalid_connection_string", ExitCode.CONFIG)
    assert "c2VjcmV0" not in raised.value.message


def test_the_real_sdk_client_reports_a_refused_connection_as_transient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK's own client, emulator connection string, nothing listening: its ConnectError maps."""
    monkeypatch.setattr(eventhubs, "SDK_RETRIES", 0)
    emulator = (
        f"Endpoint=sb://127.0.0.1:{free_port()};SharedAccessKeyName=RootManageSharedAccessKey;"
        "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"
    )
    publisher = open_eventhubs_publisher(Settings(env="dev", eventhub_connection_string=emulator))
    try:
        with pytest.raises(TransientHubError) as raised:
            publisher.publish([OutgoingEvent(b"x")])
    finally:
        publisher.close()
    assert raised.value.code == "eventhub_unavailable"
    assert "listing partitions" in raised.value.message


def test_properties_beyond_32_bits_travel_as_amqp_longs() -> None:
    """The SDK encodes a Python int as a 32-bit AMQP int and refuses larger ones (epoch milliseconds):
    those are sent typed as longs; everything else as it is. The batch accepts the encoded event."""
    client = ProducerClient(max_batch_bytes=10_000)
    publisher = EventHubsPublisher(client)
    properties = {"intended_ms": 1_795_000_000_000, "small": 5, "flag": True, "run_id": "r1"}
    publisher.publish([OutgoingEvent(b"body", partition_id="0", properties=properties)])
    [sent] = [message for batch in client.sent for message in batch.added]
    assert sent.application_properties == {
        b"intended_ms": 1_795_000_000_000,
        b"small": 5,
        b"flag": True,
        b"run_id": b"r1",
    }
    # A long on the wire (0x81), where the SDK's own choice would be refused or an int.
    assert b"\xa1\x0bintended_ms\x81" in bytes(client.sent[0]._message.data[0])


@pytest.mark.parametrize(
    "event",
    [
        OutgoingEvent(b""),
        OutgoingEvent(b"x" * 300, partition_key="merchant-1"),
        OutgoingEvent("zażółć".encode(), partition_key="k" * 300, partition_id="2"),
        OutgoingEvent(
            b"{}",
            properties={
                "run_id": "20261201T124330510Z-s501040211",
                "intended_ms": 1_796_126_207_012,
                "tiny": -5,
                "int": 300,
                "int32": -(2**31),
                "ratio": 1.5,
                "flag": False,
                "long text": "t" * 300,
            },
        ),
        OutgoingEvent(b"p", properties={f"name-{number}": number * 1000 for number in range(40)}),
    ],
)
def test_events_added_directly_are_the_bytes_the_sdks_add_writes(event: OutgoingEvent) -> None:
    """The publisher's direct path (one encoding instead of the SDK's two) must change nothing on the
    wire: the same message bytes and the same batch size accounting, against the SDK's own `add`."""
    by_sdk, direct = EventDataBatch(max_size_in_bytes=10**6), EventDataBatch(max_size_in_bytes=10**6)
    assert eventhubs._added(by_sdk, event, direct=False)
    assert eventhubs._added(direct, event, direct=True)
    assert [bytes(message) for message in direct._message.data] == [
        bytes(message) for message in by_sdk._message.data
    ]
    assert (direct.size_in_bytes, len(direct)) == (by_sdk.size_in_bytes, len(by_sdk))


def test_a_full_batch_refuses_directly_where_the_sdk_would() -> None:
    event = OutgoingEvent(b"x" * 100)
    by_sdk, direct = EventDataBatch(max_size_in_bytes=400), EventDataBatch(max_size_in_bytes=400)
    added = [(eventhubs._added(by_sdk, event, direct=False), eventhubs._added(direct, event, direct=True))]
    while added[-1] == (True, True):
        added.append(
            (eventhubs._added(by_sdk, event, direct=False), eventhubs._added(direct, event, direct=True))
        )
    assert added[-1] == (False, False)
    assert len(direct) == len(by_sdk) == len(added) - 1


def test_the_batch_internals_the_direct_path_writes_exist() -> None:
    batch = EventDataBatch(max_size_in_bytes=1000)
    for name in eventhubs.SDK_BATCH_INTERNALS:
        assert hasattr(batch, name), f"EventDataBatch.{name} is gone: see hub/eventhubs.py _added"
    assert isinstance(batch._message.data, list)


def test_with_azure_core_tracing_the_sdk_adds_every_event() -> None:
    from azure.core.settings import settings

    assert eventhubs._direct_batches()
    settings.tracing_implementation.set_value("opentelemetry")
    try:
        assert not eventhubs._direct_batches()
    finally:
        settings.tracing_implementation.unset_value()

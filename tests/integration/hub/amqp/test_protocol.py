"""The protocol edges no SDK exercises: garbage, truncated and malformed frames, violations, SASL
mechanisms, idle time-outs, heartbeats and many connections at once. Each bad connection is closed
(with an AMQP error where the protocol allows one) and the SDK keeps being served."""

from __future__ import annotations

import sqlite3
import struct
import threading
import time

import pytest
from amqp_clients import PARTITIONS, Endpoint, RawClient, attach
from azure.eventhub import EventData, EventHubProducerClient

from paysim_cli.hub.amqp.codec import (
    SASL_FRAME,
    SASL_HEADER,
    TLS_HEADER,
    Attach,
    Close,
    Detach,
    Disposition,
    End,
    Flow,
    Message,
    Open,
    Properties,
    SaslInit,
    Transfer,
    decode_message,
    encode_message,
)
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.transport import OutgoingEvent


def still_serves(endpoint: Endpoint) -> None:
    with EventHubProducerClient.from_connection_string(**endpoint.client_options()) as client:
        assert client.get_partition_ids() == [str(p) for p in range(PARTITIONS)]


@pytest.mark.parametrize("opening", [b"GET / HTTP/1.1\r\n\r\n", TLS_HEADER, b"\x00" * 8])
def test_a_header_it_does_not_speak_is_answered_then_closed(endpoint: Endpoint, opening: bytes) -> None:
    with RawClient(endpoint.port) as raw:
        raw.socket.sendall(opening)
        assert raw.receive_exactly(8) == SASL_HEADER
        assert raw.closed_by_peer()
    still_serves(endpoint)


def test_truncated_frames_cost_only_their_connection(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as hanging, RawClient(endpoint.port) as dropped:
        hanging.open()
        hanging.socket.sendall(
            struct.pack(">IBBH", 100, 2, 0, 0) + b"\x00\x53"
        )  # 10 of 100 bytes, then silence
        dropped.open()
        dropped.socket.sendall(struct.pack(">IBBH", 64, 2, 0, 0) + b"\x00\x53\x10")
        dropped.socket.close()
        still_serves(endpoint)


@pytest.mark.parametrize(
    ("body", "condition"),
    [
        (b"\x00\x53\x11\xc0\x03\x01\x99\x00", b"amqp:decode-error"),  # unknown constructor
        (b"\x00\x53\x11\xd0\x00\x00\x00\x08\x7f\xff\xff\xff", b"amqp:decode-error"),  # 2^31 fields in 4 bytes
        (b"\x00\x53\x11\xc0\x05\x01\xe0\x03\xff\x40", b"amqp:decode-error"),  # 255 nulls in 3 bytes
        (b"\x00\x53\x7f\xc0\x01\x00", b"amqp:decode-error"),  # no such performative
        (b"\xa1\x03abc", b"amqp:decode-error"),  # not a described performative
        (b"\x00\x53\x11\xa1\x01x", b"amqp:decode-error"),  # a performative that is not a list
        (b"\x00\x53\x11\xc0\x01\x01", b"amqp:decode-error"),  # a list shorter than its count
        (b"\x00\x53\x12\xc0\x0f\x0f" + b"\x40" * 15, b"amqp:decode-error"),  # more fields than attach has
    ],
)
def test_a_malformed_frame_closes_its_connection_with_an_amqp_error(
    endpoint: Endpoint, body: bytes, condition: bytes
) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.socket.sendall(struct.pack(">IBBH", 8 + len(body), 2, 0, 0) + body)
        assert raw.closing_error()[0] == condition
    still_serves(endpoint)


def test_an_oversized_frame_header_is_a_framing_error(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.socket.sendall(struct.pack(">IBBH", 10_000_000, 2, 0, 0))
        assert raw.closing_error()[0] == b"amqp:connection:framing-error"


def test_protocol_violations_close_the_connection(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.send(attach("no-session", 0, "payments", receiving=False))
        assert raw.closing_error()[0] == b"amqp:not-allowed"
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        raw.send(Transfer(handle=7, delivery_id=0, delivery_tag=b"t", message_format=0, payload=b""))
        assert raw.closing_error()[0] == b"amqp:session:unattached-handle"
    with RawClient(endpoint.port) as raw:
        raw.handshake()
        raw.send(Close(error=None))  # anything before open
        assert isinstance(raw.read_frame()[1], Open)
        assert raw.closing_error()[0] == b"amqp:not-allowed"
    with RawClient(endpoint.port) as raw:
        assert isinstance(raw.open(max_frame_size=100), Open)
        assert raw.closing_error()[0] == b"amqp:invalid-field"
    still_serves(endpoint)


def test_links_to_unknown_entities_are_detached_with_not_found(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        for handle, address in enumerate(["other-hub", "payments/Partitions/9", "payments/Elsewhere/1"]):
            raw.send(attach(f"link-{handle}", handle, address, receiving=False))
            assert isinstance(raw.read_frame()[1], Attach)
            detach = raw.read_frame()[1]
            assert isinstance(detach, Detach)
            assert detach.error[0] == b"amqp:not-found"
        raw.send(attach("wrong-way", 5, "payments/ConsumerGroups/$Default/Partitions/0", receiving=False))
        raw.read_frame()
        assert raw.read_frame()[1].error[0] == b"amqp:not-allowed"
        raw.send(Close(error=None))
        assert raw.closing_error() is None


def test_sasl_mechanisms(endpoint: Endpoint) -> None:
    for mechanism, response, outcome in [
        (b"ANONYMOUS", None, 0),
        (b"MSSBCBS", None, 0),
        (b"PLAIN", b"\0RootManageSharedAccessKey\0anything", 0),
        (b"EXTERNAL", None, 1),
    ]:
        with RawClient(endpoint.port) as raw:
            assert raw.handshake(mechanism, response) == outcome


def test_an_idle_connection_is_closed_and_heartbeats_keep_the_peer_alive(start_endpoint) -> None:
    endpoint = start_endpoint(idle_timeout_seconds=0.5)
    with RawClient(endpoint.port) as raw:
        opened = raw.open(idle_timeout_ms=200)
        assert isinstance(opened, Open)
        assert opened.idle_timeout == 500
        assert raw.read_frame() == (0, None)  # an empty frame within 100 ms: the peer asked for 200
        error = raw.closing_error()
        assert error[0] == b"amqp:connection:forced"
        assert b"inactive" in error[1]


def test_flow_echo_and_drain(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        raw.send(attach("drained", 0, "payments/ConsumerGroups/$Default/Partitions/0", receiving=True))
        assert isinstance(raw.read_frame()[1], Attach)
        raw.send(Flow(0, 100, 0, 100, handle=None, echo=True))
        assert raw.read_frame()[1].handle is None
        raw.send(Flow(0, 100, 0, 100, handle=0, delivery_count=0, link_credit=5, drain=True, echo=False))
        drained = raw.read_frame()[1]
        assert (drained.delivery_count, drained.link_credit) == (5, 0)


def test_many_connections_at_once(endpoint: Endpoint) -> None:
    failures: list[Exception] = []

    def publish(number: int) -> None:
        try:
            with EventHubProducerClient.from_connection_string(**endpoint.client_options()) as client:
                batch = client.create_batch(partition_id=str(number % PARTITIONS))
                batch.add(EventData(f"from {number}"))
                client.send_batch(batch)
        except Exception as error:  # noqa: BLE001 - collected and asserted on below
            failures.append(error)

    threads = [threading.Thread(target=publish, args=(number,)) for number in range(12)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    assert time.monotonic() - started < 30
    with LocalEventLog.open(endpoint.event_log) as log:
        assert sum(len(log.read(str(p), 0, 100)) for p in range(PARTITIONS)) == 12


def test_a_large_event_crosses_small_frames_within_credit_and_session_window(endpoint: Endpoint) -> None:
    body = bytes(range(256)) * 8
    with LocalEventLog.open(endpoint.event_log) as log:
        log.append([("0", [OutgoingEvent(body)])])
    with RawClient(endpoint.port) as raw:
        raw.open(max_frame_size=512)
        raw.begin(incoming_window=2)
        raw.send(attach("big", 0, "payments/ConsumerGroups/$Default/Partitions/0", receiving=True))
        assert isinstance(raw.read_frame()[1], Attach)
        raw.send(Flow(0, 2, 0, 100, handle=0, delivery_count=0, link_credit=1))
        frames = [raw.read_frame()[1], raw.read_frame()[1]]  # then the session window is used up
        assert frames[0].delivery_id == 0
        assert frames[1].delivery_id is None
        raw.send(Flow(2, 100, 0, 100))  # open the window: the rest follows
        while frames[-1].more:
            frames.append(raw.read_frame()[1])
    assert len(frames) > 4
    delivered = decode_message(b"".join(frame.payload for frame in frames))
    assert delivered.data == [body]
    assert delivered.message_annotations[b"x-opt-sequence-number"] == 0


def request(delivery_id: int, handle: int, reply_to: str | None) -> Transfer:
    message = Message(
        properties=Properties(message_id=f"request-{delivery_id}", reply_to=reply_to),
        application_properties={"operation": "READ", "type": "com.microsoft:eventhub", "name": "payments"},
    )
    return Transfer(
        handle=handle,
        delivery_id=delivery_id,
        delivery_tag=bytes([delivery_id]),
        message_format=0,
        settled=False,
        payload=encode_message(message),
    )


def test_management_requests_are_answered_on_the_reply_link_as_credit_allows(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        raw.send(attach("replies", 0, "$management", receiving=True))
        raw.send(attach("other-replies", 1, "$management", receiving=True, local="raw-2"))
        raw.send(attach("requests", 2, "$management", receiving=False))
        raw.send(attach("tokens", 3, "$cbs", receiving=False))
        frames = [raw.read_frame()[1] for _ in range(6)]  # four attaches, credit for the two senders
        assert sum(isinstance(frame, Flow) for frame in frames) == 2
        raw.send(request(0, 2, reply_to="raw-2"))
        accepted = raw.read_frame()[1]
        assert isinstance(accepted, Disposition)
        assert accepted.settled
        assert "accepted" in accepted.state
        raw.send(Flow(0, 100, 1, 100, handle=1, delivery_count=0, link_credit=1))  # no reply before credit
        reply = raw.read_frame()[1]
        assert reply.handle == 1  # the reply link whose target is the request's reply-to
        answer = decode_message(reply.payload)
        assert answer.properties.correlation_id == b"request-0"
        assert answer.application_properties[b"status-code"] == 200
        assert answer.value[b"partition_ids"] == [b"0", b"1", b"2", b"3"]
        raw.send(request(1, 3, reply_to=None))  # nobody listens for $cbs replies
        rejected = raw.read_frame()[1]
        assert rejected.state["rejected"][0][0] == b"amqp:precondition-failed"


def test_deliveries_aborted_or_on_detached_links_are_dropped(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        raw.send(attach("sender", 0, "payments/Partitions/1", receiving=False))
        raw.read_frame()
        raw.read_frame()  # credit
        payload = encode_message(Message(data=[b"kept"]))
        raw.send(
            Transfer(handle=0, delivery_id=0, delivery_tag=b"a", message_format=0, more=True, payload=b"xx")
        )
        raw.send(Transfer(handle=0, aborted=True, payload=b""))
        raw.send(
            Transfer(
                handle=0, delivery_id=1, delivery_tag=b"b", message_format=0, settled=True, payload=payload
            )
        )
        raw.send(Detach(handle=0, closed=True, error=None))
        assert isinstance(raw.read_frame()[1], Detach)
        raw.send(attach("sender", 0, "payments/Partitions/1", receiving=False))
        raw.send(attach("sender", 0, "payments/Partitions/1", receiving=False))
        frames = [raw.read_frame()[1] for _ in range(2)]
        assert isinstance(frames[0], Attach)
        assert raw.closing_error()[0] == b"amqp:session:handle-in-use"
    with LocalEventLog.open(endpoint.event_log) as log:
        assert [event.body for event in log.read("1", 0, 10)] == [b"kept"]


def test_more_violations_close_the_connection(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        closing = raw.begin()  # channel 0 again
        assert isinstance(closing, Close)
        assert closing.error[0] == b"amqp:connection:framing-error"
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.send(SaslInit(mechanism=b"ANONYMOUS", initial_response=None, hostname=None), 0, SASL_FRAME)
        assert raw.closing_error()[0] == b"amqp:connection:framing-error"
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        raw.send(attach("receiver", 0, "payments/ConsumerGroups/$Default/Partitions/0", receiving=True))
        raw.read_frame()
        raw.send(Transfer(handle=0, delivery_id=0, delivery_tag=b"t", message_format=0, payload=b""))
        assert raw.closing_error()[0] == b"amqp:not-allowed"
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        raw.send(End(error=None))
        assert isinstance(raw.read_frame()[1], End)
        raw.send(Detach(handle=0, closed=True, error=None))  # after end, as the SDK does: ignored
        raw.begin(channel=1)
        raw.send(SaslInit(mechanism=b"x", initial_response=None, hostname=None), 1)  # no AMQP performative
        error = raw.closing_error()
        assert error[0] == b"amqp:not-allowed"
        assert b"SASLInit" in error[1]


def test_a_log_failure_detaches_the_receiving_link(endpoint: Endpoint) -> None:
    with RawClient(endpoint.port) as raw:
        raw.open()
        raw.begin()
        raw.send(attach("reader", 0, "payments/ConsumerGroups/$Default/Partitions/3", receiving=True))
        assert isinstance(raw.read_frame()[1], Attach)
        with sqlite3.connect(endpoint.event_log) as damage:
            damage.execute("DROP TABLE events_3")
        raw.send(Flow(0, 100, 0, 100, handle=0, delivery_count=0, link_credit=10))
        detach = raw.read_frame()[1]
        assert isinstance(detach, Detach)
        assert detach.error[0] == b"amqp:internal-error"
        assert b"no such table" in detach.error[1]

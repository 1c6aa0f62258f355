"""One AMQP 1.0 connection: protocol headers, SASL, and the connection, session and link state machines.

Frames are read and handled in order by one loop per connection. Each link the endpoint sends on (a
partition receiver, a `$cbs` or `$management` reply link) has a task of its own that waits for link
credit and session window before each transfer, so a slow or stalled peer holds up only itself. A
protocol violation closes this connection with an AMQP error; other connections never notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from paysim_cli.hub.amqp.auth import (
    SharedAccessKey,
    check_token,
    covers,
    entity_path,
    plain_credentials_valid,
)
from paysim_cli.hub.amqp.codec import (
    AMQP_FRAME,
    AMQP_HEADER,
    EMPTY_FRAME,
    MIN_MAX_FRAME_SIZE,
    SASL_FRAME,
    SASL_HEADER,
    STRING,
    TYPE,
    VALUE,
    Accepted,
    AmqpError,
    Attach,
    Begin,
    Close,
    Detach,
    Disposition,
    End,
    Flow,
    Message,
    Open,
    Properties,
    ProtocolViolation,
    Rejected,
    SaslInit,
    SaslMechanisms,
    SaslOutcome,
    Source,
    Target,
    Transfer,
    decode_message,
    decode_performative,
    encode_event,
    encode_frame,
    encode_message,
    parse_frame_header,
    terminus,
    text,
)
from paysim_cli.hub.amqp.hub import (
    MAX_MESSAGE_BYTES,
    ConsumerNode,
    EventHub,
    Node,
    PublishNode,
    ServiceNode,
)
from paysim_cli.hub.transport import HubError

_LOGGER = logging.getLogger(__name__)
MAX_FRAME_SIZE = 65_536
CHANNEL_MAX = 255
HANDLE_MAX = 255
SESSION_WINDOW = 5_000
PUBLISH_CREDIT = 1_000
# Events read from the log per round trip for one receiver (never more than its credit).
READ_BATCH = 500
SASL_MECHANISMS = (b"MSSBCBS", b"PLAIN", b"ANONYMOUS")
SELECTOR_FILTER = b"apache.org:selector-filter:string"
EPOCH_PROPERTY = b"com.microsoft:epoch"
SENDER, RECEIVER = False, True  # the AMQP role booleans


class _Hangup(Exception):
    """Close the socket without a close frame (before open, or after the peer's close)."""


class LinkState(enum.Enum):
    ATTACHED = "attached"
    DETACH_SENT = "detach sent"


@dataclass(eq=False)
class _IncomingDelivery:
    delivery_id: int
    settled: bool
    message_format: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


class Link:
    """One link endpoint of this container: it receives (the peer sends to the hub, `$cbs`,
    `$management`) or it sends (events of a partition, replies)."""

    def __init__(self, session: Session, attach: Any, handle: int) -> None:
        self.session = session
        self.name = text(attach.name)
        self.handle = handle
        self.sending = attach.role == RECEIVER
        self.state = LinkState.ATTACHED
        self.node: Node | None = None
        self.consumer: ConsumerNode | None = None
        source, target = terminus(Source, attach.source), terminus(Target, attach.target)
        self.source_address = "" if source is None or source.address is None else text(source.address)
        self.target_address = "" if target is None or target.address is None else text(target.address)
        filters = None if source is None else source.filters
        selector = filters.get(SELECTOR_FILTER) if isinstance(filters, dict) else None
        self.selector = None if selector is None else text(selector)
        properties = attach.properties or {}
        level = properties.get(EPOCH_PROPERTY)
        self._owner_level = int(level) if isinstance(level, int) and not isinstance(level, bool) else None
        # Link flow control: what the peer let us send, or what we let it send.
        self.delivery_count = 0 if self.sending else int(attach.initial_delivery_count or 0)
        self.credit = 0
        self.drain = False
        self.credit_changed = asyncio.Event()
        self.incoming: _IncomingDelivery | None = None
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    @property
    def owner_level(self) -> int | None:
        return self._owner_level

    def disconnect(self, failure: AmqpError) -> None:
        self.session.connection.detach_link(self, failure)

    def grant(self, credit: int) -> None:
        self.credit = credit
        self.credit_changed.set()


class Session:
    """A session: its channels, transfer ids, windows and the links attached to it."""

    def __init__(self, connection: AmqpConnection, channel: int, begin: Any) -> None:
        self.connection = connection
        self.channel = channel
        self.links: dict[int, Link] = {}
        self.next_outgoing_id = 0
        self.next_delivery_id = 0
        self.next_incoming_id: int = begin.next_outgoing_id
        self.incoming_window = SESSION_WINDOW
        self.remote_incoming_window: int = begin.incoming_window
        self.window_open = asyncio.Event()
        self.window_open.set()

    def free_handle(self) -> int:
        used = {link.handle for link in self.links.values()}
        handle = next((handle for handle in range(HANDLE_MAX + 1) if handle not in used), None)
        if handle is None:
            raise ProtocolViolation(b"amqp:resource-limit-exceeded", f"more than {HANDLE_MAX + 1} links")
        return handle

    def flow(self, link: Link | None = None) -> Any:
        """The session's flow state, and the link's when given."""
        return Flow(
            next_incoming_id=self.next_incoming_id,
            incoming_window=self.incoming_window,
            next_outgoing_id=self.next_outgoing_id,
            outgoing_window=SESSION_WINDOW,
            handle=None if link is None else link.handle,
            delivery_count=None if link is None else link.delivery_count,
            link_credit=None if link is None else link.credit,
            drain=None if link is None else link.drain,
            echo=False,
        )


@dataclass(frozen=True, slots=True)
class ConnectionPolicy:
    """How the endpoint treats every connection: its shared access key (None accepts any token) and
    the idle time-out it announces and enforces."""

    sas_key: SharedAccessKey | None = None
    idle_timeout_seconds: float = 240.0


class AmqpConnection:
    """Serves one client socket until either side closes it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        hub: EventHub,
        policy: ConnectionPolicy,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._hub = hub
        self._policy = policy
        self._sessions: dict[int, Session] = {}
        # Channels the peer ended: the SDK detaches its links after sending end, and those frames are dropped.
        self._ended: set[int] = set()
        self._remote_max_frame_size = MAX_FRAME_SIZE
        self._remote_idle_timeout: float | None = None
        self._last_sent = time.monotonic()
        self._authorized: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.peer = writer.get_extra_info("peername")

    async def serve(self) -> None:
        """Negotiate, then handle frames until close; every failure ends this connection only."""
        try:
            await self._negotiate()
            await self._open()
            while not self._closed:
                channel, performative = await self._read_frame(AMQP_FRAME)
                if performative is not None:
                    await self._handle(channel, performative)
                await self._writer.drain()
        except ProtocolViolation as violation:
            _LOGGER.info("closing connection %s: %s", self.peer, violation.description)
            self._close_with(violation)
        except (_Hangup, asyncio.IncompleteReadError, ConnectionError):
            pass
        except TimeoutError:
            idle = self._policy.idle_timeout_seconds * 1000
            self._close_with(
                AmqpError(
                    b"amqp:connection:forced",
                    f"The connection was inactive for more than the allowed {idle:.0f} milliseconds and is "
                    "closed by container 'paysim'.",
                )
            )
        except Exception as failure:  # a bug must cost this connection only; it is logged with its trace
            _LOGGER.exception("connection %s failed", self.peer)
            self._close_with(AmqpError(b"amqp:internal-error", str(failure)))
        finally:
            await self._shut()

    def _close_with(self, failure: AmqpError) -> None:
        self._send(0, Close(error=failure.info()))

    async def _shut(self) -> None:
        self._closed = True
        for session in self._sessions.values():
            for link in session.links.values():
                self._release(link)
        for task in self._tasks:
            task.cancel()
        self._writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(2):
                await self._writer.wait_closed()

    # -- bytes and frames --------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)
            self._last_sent = time.monotonic()

    def _send(self, channel: int, performative: Any) -> None:
        self._write(encode_frame(channel, performative))

    async def _read_frame(self, frame_type: int) -> tuple[int, Any]:
        """The next frame's channel and performative (None for an empty frame), within the idle time-out."""
        async with asyncio.timeout(self._policy.idle_timeout_seconds):
            header = parse_frame_header(await self._reader.readexactly(8), MAX_FRAME_SIZE)
            body = await self._reader.readexactly(header.size - 8)
        if header.type != frame_type:
            raise ProtocolViolation(b"amqp:connection:framing-error", f"unexpected frame type {header.type}")
        body_view = memoryview(body)[header.body_offset :]
        return header.channel, decode_performative(body_view) if body_view else None

    async def _negotiate(self) -> None:
        """Protocol headers and SASL. A header we do not speak is answered with ours, then the socket
        closes."""
        header = await self._reader.readexactly(8)
        if header == SASL_HEADER:
            self._write(SASL_HEADER + encode_frame(0, SaslMechanisms(list(SASL_MECHANISMS)), SASL_FRAME))
            _, init = await self._read_frame(SASL_FRAME)
            if not isinstance(init, SaslInit):
                raise _Hangup
            mechanism = bytes(init.mechanism or b"")
            accepted = mechanism in SASL_MECHANISMS and (
                mechanism != b"PLAIN"
                or plain_credentials_valid(bytes(init.initial_response or b""), self._key)
            )
            self._write(
                encode_frame(0, SaslOutcome(code=0 if accepted else 1, additional_data=None), SASL_FRAME)
            )
            if not accepted:
                raise _Hangup
            if mechanism == b"PLAIN":
                self._authorized[""] = float("inf")  # the policy's key: the whole namespace
            header = await self._reader.readexactly(8)
        if header != AMQP_HEADER:
            self._write(SASL_HEADER)
            raise _Hangup
        self._write(AMQP_HEADER)

    @property
    def _key(self) -> SharedAccessKey | None:
        return self._policy.sas_key

    async def _open(self) -> None:
        """Answer the peer's open with ours, then check it: a refused open is still answered (the spec's
        order), so the close that follows can carry the error."""
        _, opened = await self._read_frame(AMQP_FRAME)
        self._send(
            0,
            Open(
                container_id="paysim",
                hostname=None,
                max_frame_size=MAX_FRAME_SIZE,
                channel_max=CHANNEL_MAX,
                idle_timeout=int(self._policy.idle_timeout_seconds * 1000),
                outgoing_locales=None,
                incoming_locales=None,
                offered_capabilities=None,
                desired_capabilities=None,
                properties=None,
            ),
        )
        if not isinstance(opened, Open):
            raise ProtocolViolation(b"amqp:not-allowed", "the first frame must be open")
        if (opened.max_frame_size or MAX_FRAME_SIZE) < MIN_MAX_FRAME_SIZE:
            raise ProtocolViolation(b"amqp:invalid-field", "max-frame-size is below the 512-byte minimum")
        self._remote_max_frame_size = min(opened.max_frame_size or MAX_FRAME_SIZE, 1 << 30)
        if opened.idle_timeout:
            self._remote_idle_timeout = opened.idle_timeout / 1000
            self._spawn(self._heartbeat())

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _heartbeat(self) -> None:
        """Empty frames at half the peer's idle time-out whenever nothing else was sent."""
        interval = (self._remote_idle_timeout or 0) / 2
        while not self._closed:
            await asyncio.sleep(max(0.0, self._last_sent + interval - time.monotonic()))
            if time.monotonic() - self._last_sent >= interval:
                self._write(EMPTY_FRAME)

    # -- connection and session frames -----------------------------------------------------------

    async def _handle(self, channel: int, performative: Any) -> None:
        if isinstance(performative, Close):
            self._send(0, Close(error=None))
            raise _Hangup
        if isinstance(performative, Begin):
            self._begin(channel, performative)
            return
        session = self._sessions.get(channel)
        if session is None and channel in self._ended:
            return
        if session is None:
            raise ProtocolViolation(
                b"amqp:not-allowed", f"{type(performative).__name__} on channel {channel}"
            )
        if isinstance(performative, Attach):
            await self._attach(session, performative)
        elif isinstance(performative, Flow):
            self._flow(session, performative)
        elif isinstance(performative, Transfer):
            await self._transfer(session, performative)
        elif isinstance(performative, Detach):
            self._detached(session, performative)
        elif isinstance(performative, End):
            self._end(channel, session)
        elif not isinstance(performative, Disposition):  # the endpoint only sends settled deliveries
            raise ProtocolViolation(b"amqp:not-allowed", f"unexpected {type(performative).__name__}")

    def _begin(self, channel: int, begin: Any) -> None:
        if channel in self._sessions or channel > CHANNEL_MAX or begin.remote_channel is not None:
            raise ProtocolViolation(b"amqp:connection:framing-error", f"invalid begin on channel {channel}")
        self._ended.discard(channel)
        used = {session.channel for session in self._sessions.values()}
        local = next(number for number in range(CHANNEL_MAX + 1) if number not in used)
        session = self._sessions[channel] = Session(self, local, begin)
        self._send(
            local,
            Begin(
                remote_channel=channel,
                next_outgoing_id=session.next_outgoing_id,
                incoming_window=SESSION_WINDOW,
                outgoing_window=SESSION_WINDOW,
                handle_max=HANDLE_MAX,
                offered_capabilities=None,
                desired_capabilities=None,
                properties=None,
            ),
        )

    def _end(self, channel: int, session: Session) -> None:
        for link in session.links.values():
            self._release(link)
        del self._sessions[channel]
        self._ended.add(channel)
        self._send(session.channel, End(error=None))

    def _flow(self, session: Session, flow: Any) -> None:
        session.next_incoming_id = flow.next_outgoing_id
        remote_next_incoming = 0 if flow.next_incoming_id is None else flow.next_incoming_id
        session.remote_incoming_window = (
            remote_next_incoming + flow.incoming_window - session.next_outgoing_id
        )
        if session.remote_incoming_window > 0:
            session.window_open.set()
        if flow.handle is None:
            if flow.echo:
                self._send(session.channel, session.flow())
            return
        link = self._link(session, flow.handle)
        if link.sending and flow.link_credit is not None:
            # The peer counts deliveries from the count it last heard of: credit is relative to that.
            link.drain = bool(flow.drain)
            link.grant((flow.delivery_count or 0) + flow.link_credit - link.delivery_count)
        if flow.echo:
            self._send(session.channel, session.flow(link))

    def _link(self, session: Session, remote_handle: int | None) -> Link:
        link = session.links.get(-1 if remote_handle is None else remote_handle)
        if link is None:
            raise ProtocolViolation(b"amqp:session:unattached-handle", f"no link with handle {remote_handle}")
        return link

    # -- links -------------------------------------------------------------------------------------

    async def _attach(self, session: Session, attach: Any) -> None:
        if attach.handle in session.links:
            raise ProtocolViolation(b"amqp:session:handle-in-use", f"handle {attach.handle} is in use")
        link = Link(session, attach, session.free_handle())
        session.links[attach.handle] = link
        address = link.source_address if link.sending else link.target_address
        try:
            sequence_number = await self._resolve(link, address, link.selector)
        except AmqpError as refusal:
            self._send(session.channel, self._attach_reply(link, attach, None))
            self.detach_link(link, refusal)
            return
        self._send(session.channel, self._attach_reply(link, attach, link.selector))
        if link.consumer is not None:
            link.task = self._spawn(self._sending(link, self._stream(link, link.consumer, sequence_number)))
        elif link.sending:
            link.task = self._spawn(self._sending(link, self._reply(link)))
        else:
            link.grant(PUBLISH_CREDIT)
            self._send(session.channel, session.flow(link))

    async def _resolve(self, link: Link, address: str, selector: str | None) -> int:
        """Bind the link to the entity it names; for a partition receiver, where it starts reading."""
        node = link.node = self._hub.resolve(address)
        if isinstance(node, ConsumerNode) != link.sending and not isinstance(node, ServiceNode):
            raise AmqpError(
                b"amqp:not-allowed", f"cannot {'receive from' if link.sending else 'send to'} {address}"
            )
        if isinstance(node, ServiceNode):
            return 0
        self._authorize(address, "Listen" if link.sending else "Send")
        if not isinstance(node, ConsumerNode):
            return 0
        sequence_number = await self._hub.start_sequence_number(node.partition_id, selector)
        self._hub.receivers.admit(node, link)
        link.consumer = node
        return sequence_number

    def _authorize(self, address: str, claim: str) -> None:
        if self._key is None:
            return
        path, now = entity_path(address), time.time()
        if not any(covers(audience, path) and expiry > now for audience, expiry in self._authorized.items()):
            raise AmqpError(
                b"amqp:unauthorized-access",
                f"Unauthorized access. '{claim}' claim(s) are required to perform this operation.",
            )

    def _attach_reply(self, link: Link, attach: Any, selector: Any) -> Any:
        """The attach answering the peer's: the same termini (the selector re-encoded as the string it
        is), settled deliveries from this side, the 1 MiB message size limit."""
        filters = (
            None
            if selector is None
            else {SELECTOR_FILTER: (SELECTOR_FILTER, {TYPE: STRING, VALUE: selector})}
        )
        return Attach(
            name=link.name,
            handle=link.handle,
            role=not attach.role,
            send_settle_mode=1 if link.sending else attach.send_settle_mode,
            rcv_settle_mode=0,
            source=Source(address=link.source_address, filters=filters),
            target=Target(address=link.target_address),
            unsettled=None,
            incomplete_unsettled=False,
            initial_delivery_count=link.delivery_count if link.sending else None,
            max_message_size=MAX_MESSAGE_BYTES,
            offered_capabilities=None,
            desired_capabilities=None,
            properties=None,
        )

    def detach_link(self, link: Link, failure: AmqpError) -> None:
        """Detach (and close) a link from this side, with the error saying why."""
        if link.state is LinkState.DETACH_SENT or self._closed:
            return
        link.state = LinkState.DETACH_SENT
        self._release(link)
        self._send(
            link.session.channel,
            Detach(handle=link.handle, closed=True, error=failure.info()),
        )

    def _detached(self, session: Session, detach: Any) -> None:
        link = self._link(session, detach.handle)
        del session.links[detach.handle]
        self._release(link)
        if link.state is not LinkState.DETACH_SENT:
            link.state = LinkState.DETACH_SENT
            self._send(session.channel, Detach(handle=link.handle, closed=detach.closed, error=None))

    def _release(self, link: Link) -> None:
        if link.consumer is not None:
            self._hub.receivers.remove(link.consumer, link)
        if link.task is not None and link.task is not asyncio.current_task():
            link.task.cancel()

    # -- deliveries the peer sends ---------------------------------------------------------------------

    async def _transfer(self, session: Session, transfer: Any) -> None:
        session.next_incoming_id += 1
        session.incoming_window -= 1
        if session.incoming_window <= SESSION_WINDOW // 2:
            session.incoming_window = SESSION_WINDOW
            self._send(session.channel, session.flow())
        link = self._link(session, transfer.handle)
        if link.sending:
            raise ProtocolViolation(b"amqp:not-allowed", f"transfer on link {link.name}, which receives")
        if link.state is LinkState.DETACH_SENT:
            return  # in flight when we detached: dropped
        delivery = link.incoming
        if delivery is None:
            if transfer.delivery_id is None:
                raise ProtocolViolation(
                    b"amqp:invalid-field", "the first transfer of a delivery needs its id"
                )
            delivery = _IncomingDelivery(
                transfer.delivery_id, bool(transfer.settled), transfer.message_format or 0
            )
            link.delivery_count += 1
            link.credit -= 1
        if transfer.aborted:
            link.incoming = None
            return
        delivery.size += len(transfer.payload)
        if delivery.size <= MAX_MESSAGE_BYTES:  # past the limit the delivery is rejected: stop keeping it
            delivery.chunks.append(transfer.payload)
        if transfer.more:
            link.incoming = delivery
            return
        link.incoming = None
        outcome = await self._outcome(link, delivery)
        if not delivery.settled:
            self._send(
                session.channel,
                Disposition(
                    role=RECEIVER,
                    first=delivery.delivery_id,
                    last=None,
                    settled=True,
                    state=outcome,
                    batchable=None,
                ),
            )
        if link.credit <= PUBLISH_CREDIT // 2 and link.state is LinkState.ATTACHED:
            link.grant(PUBLISH_CREDIT)
            self._send(session.channel, session.flow(link))

    async def _outcome(self, link: Link, delivery: _IncomingDelivery) -> Any:
        if delivery.size > MAX_MESSAGE_BYTES:
            return Rejected(
                error=AmqpError(
                    b"amqp:link:message-size-exceeded",
                    f"The received message (delivery-id:{delivery.delivery_id}, size:{delivery.size} bytes) "
                    f"exceeds the limit ({MAX_MESSAGE_BYTES} bytes) currently allowed on the link.",
                ).info()
            )
        payload = b"".join(delivery.chunks)
        try:
            if isinstance(link.node, PublishNode):
                await self._hub.publish(link.node, payload, delivery.message_format)
            else:
                await self._request(link, decode_message(payload))
        except AmqpError as refusal:
            return Rejected(error=refusal.info())
        return Accepted()

    async def _request(self, link: Link, request: Any) -> None:
        """A `$cbs` put-token or a `$management` read; the reply goes to the node's reply link."""
        properties = {text(name): value for name, value in (request.application_properties or {}).items()}
        reply_link = self._reply_link(link, request)
        if link.node is ServiceNode.CBS:
            audience = text(properties.get("name", ""))
            verdict = check_token(
                text(request.value or ""), text(properties.get("type", "")), audience, self._key
            )
            if verdict.accepted:
                self._authorized[entity_path(audience)] = verdict.expires_at
            status, description, body = verdict.status, verdict.description, None
            fields = {"status-code": status, "status-description": description}
        else:
            try:
                self._authorize(self._hub.name, "Listen")
            except AmqpError as refusal:
                status, description, body = 401, refusal.description, None
            else:
                status, description, body = await self._hub.management(properties)
            fields = {"status-code": status, "status-description": description}
        message_id = request.properties.message_id if request.properties is not None else None
        reply_link.replies.put_nowait(
            encode_message(
                Message(
                    properties=Properties(correlation_id=message_id),
                    application_properties=fields,
                    value=body,
                )
            )
        )

    def _reply_link(self, link: Link, request: Any) -> Link:
        reply_to = request.properties.reply_to if request.properties is not None else None
        candidates = [
            other for other in link.session.links.values() if other.sending and other.node is link.node
        ]
        if reply_to is not None:
            candidates = [
                other for other in candidates if other.target_address == text(reply_to)
            ] or candidates
        if not candidates:
            raise AmqpError(b"amqp:precondition-failed", f"attach a link to receive replies from {link.node}")
        return candidates[0]

    # -- deliveries the endpoint sends ---------------------------------------------------------------

    async def _sending(self, link: Link, work: Coroutine[Any, Any, None]) -> None:
        """A sending link's task: a log failure detaches that link; a lost socket ends the connection."""
        try:
            await work
        except HubError as failure:
            self.detach_link(link, AmqpError(b"amqp:internal-error", failure.message))
        except ConnectionError:
            pass

    async def _reply(self, link: Link) -> None:
        while True:
            await self._send_delivery(link, await link.replies.get())

    async def _stream(self, link: Link, node: ConsumerNode, sequence_number: int) -> None:
        """A partition's events to a receiver, from `sequence_number` on, as its credit allows."""
        while True:
            if link.credit <= 0:
                link.credit_changed.clear()
                await link.credit_changed.wait()
                continue
            events = await self._hub.read(node.partition_id, sequence_number, min(link.credit, READ_BATCH))
            if not events:
                if link.drain:  # nothing to send: use up the credit, as drain asks
                    link.delivery_count += link.credit
                    link.credit, link.drain = 0, False
                    self._send(link.session.channel, link.session.flow(link))
                await self._hub.wait_for_events(node.partition_id)
                continue
            for event in events:
                await self._send_delivery(link, encode_event(event))
            sequence_number = events[-1].sequence_number + 1
            await self._writer.drain()

    async def _send_delivery(self, link: Link, payload: bytes) -> None:
        """One settled delivery, in as many transfer frames as the peer's max-frame-size needs."""
        while link.credit <= 0:
            link.credit_changed.clear()
            await link.credit_changed.wait()
        session = link.session
        delivery_id = session.next_delivery_id
        session.next_delivery_id += 1
        first = Transfer(
            handle=link.handle,
            delivery_id=delivery_id,
            delivery_tag=delivery_id.to_bytes(4, "big"),
            message_format=0,
            settled=True,
            more=False,
            payload=b"",
        )
        room = self._remote_max_frame_size - len(encode_frame(session.channel, first))
        position = 0
        while True:
            while session.remote_incoming_window <= 0:
                session.window_open.clear()
                await session.window_open.wait()
            piece = payload[position : position + room]
            position += len(piece)
            more = position < len(payload)
            if position == len(piece):
                frame = first._replace(more=more, payload=piece)
            else:
                frame = Transfer(handle=link.handle, settled=True, more=more, payload=piece)
            self._send(session.channel, frame)
            session.next_outgoing_id += 1
            session.remote_incoming_window -= 1
            if not more:
                break
        link.delivery_count += 1
        link.credit -= 1

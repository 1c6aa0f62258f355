"""One AMQP 1.0 connection: the frame loop, and the connection, session and link state machines.

Frames are read and handled in order by one loop per connection (`AmqpConnection.serve`); the SASL
exchange is in `sasl.py`, sessions and links (their flow control and transfers) in `links.py`, the
`$cbs` and `$management` nodes in `services.py`. A protocol violation closes this connection with an
AMQP error; other connections never notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from paysim_cli.hub.amqp import services
from paysim_cli.hub.amqp.auth import Grants, SharedAccessKey
from paysim_cli.hub.amqp.codec import (
    AMQP_FRAME,
    EMPTY_FRAME,
    MIN_MAX_FRAME_SIZE,
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
    Hangup,
    Open,
    ProtocolViolation,
    Rejected,
    Source,
    Target,
    Transfer,
    decode_message,
    decode_performative,
    encode_frame,
    parse_frame_header,
    text,
)
from paysim_cli.hub.amqp.hub import (
    MAX_MESSAGE_BYTES,
    ConsumerNode,
    EventHub,
    PublishNode,
    ServiceNode,
)
from paysim_cli.hub.amqp.links import (
    HANDLE_MAX,
    PUBLISH_CREDIT,
    RECEIVER,
    SELECTOR_FILTER,
    SESSION_WINDOW,
    IncomingDelivery,
    Link,
    LinkState,
    Session,
)
from paysim_cli.hub.amqp.sasl import negotiate
from paysim_cli.hub.transport import HubError

_LOGGER = logging.getLogger(__name__)
MAX_FRAME_SIZE = 65_536
CHANNEL_MAX = 255


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
        self.remote_max_frame_size = MAX_FRAME_SIZE
        self._remote_idle_timeout: float | None = None
        self._last_sent = time.monotonic()
        self._grants = Grants(policy.sas_key)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.peer = writer.get_extra_info("peername")

    async def serve(self) -> None:
        """Negotiate, then handle frames until close; every failure ends this connection only."""
        try:
            if await negotiate(self._read_header, self._read_frame, self.write, self._policy.sas_key):
                self._grants.grant("", float("inf"))  # PLAIN with the policy's key: the whole namespace
            await self._open()
            while not self._closed:
                channel, performative = await self._read_frame(AMQP_FRAME)
                if performative is not None:
                    await self._handle(channel, performative)
                await self._writer.drain()
        except ProtocolViolation as violation:
            _LOGGER.info("closing connection %s: %s", self.peer, violation.description)
            self._close_with(violation)
        except (Hangup, asyncio.IncompleteReadError, ConnectionError):
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
        self.send(0, Close(error=failure.info()))

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

    # -- bytes and frames (the ConnectionSide links use) ---------------------------------------------

    def write(self, data: bytes) -> None:
        if data and not self._writer.is_closing():
            self._writer.write(data)
            self._last_sent = time.monotonic()

    def send(self, channel: int, performative: Any) -> None:
        self.write(encode_frame(channel, performative))

    async def drain(self) -> None:
        await self._writer.drain()

    async def _read_header(self) -> bytes:
        return await self._reader.readexactly(8)

    async def _read_frame(self, frame_type: int) -> tuple[int, Any]:
        """The next frame's channel and performative (None for an empty frame), within the idle time-out."""
        async with asyncio.timeout(self._policy.idle_timeout_seconds):
            header = parse_frame_header(await self._reader.readexactly(8), MAX_FRAME_SIZE)
            body = await self._reader.readexactly(header.size - 8)
        if header.type != frame_type:
            raise ProtocolViolation(b"amqp:connection:framing-error", f"unexpected frame type {header.type}")
        body_view = memoryview(body)[header.body_offset :]
        return header.channel, decode_performative(body_view) if body_view else None

    async def _open(self) -> None:
        """Answer the peer's open with ours, then check it: a refused open is still answered (the spec's
        order), so the close that follows can carry the error."""
        _, opened = await self._read_frame(AMQP_FRAME)
        self.send(
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
        self.remote_max_frame_size = min(opened.max_frame_size or MAX_FRAME_SIZE, 1 << 30)
        if opened.idle_timeout:
            self._remote_idle_timeout = opened.idle_timeout / 1000
            self._spawn(self._heartbeat())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
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
                self.write(EMPTY_FRAME)

    # -- connection and session frames -----------------------------------------------------------

    async def _handle(self, channel: int, performative: Any) -> None:
        if isinstance(performative, Close):
            self.send(0, Close(error=None))
            raise Hangup
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
        self.send(
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
        self.send(session.channel, End(error=None))

    def _flow(self, session: Session, flow: Any) -> None:
        session.update_window(flow)
        if flow.handle is None:
            if flow.echo:
                self.send(session.channel, session.flow())
            return
        link = self._link(session, flow.handle)
        link.update_credit(flow)
        if flow.echo:
            self.send(session.channel, session.flow(link))

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
            self.send(session.channel, self._attach_reply(link, attach, None))
            self.detach_link(link, refusal)
            return
        self.send(session.channel, self._attach_reply(link, attach, link.selector))
        if link.consumer is not None:
            link.task = self._spawn(
                self._sending(link, link.stream_partition(self._hub, link.consumer, sequence_number))
            )
        elif link.sending:
            link.task = self._spawn(self._sending(link, link.send_replies()))
        else:
            link.grant(PUBLISH_CREDIT)
            self.send(session.channel, session.flow(link))

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
        if not self._grants.allows(address):
            raise AmqpError(
                b"amqp:unauthorized-access",
                f"Unauthorized access. '{claim}' claim(s) are required to perform this operation.",
            )

    def _attach_reply(self, link: Link, attach: Any, selector: Any) -> Any:
        """The attach answering the peer's: the same termini (the selector re-encoded as the string it
        is), settled deliveries from this side, the 1 MiB message size limit, and runtime metrics offered
        back to a receiver that desired them."""
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
            offered_capabilities=link.offered_capabilities if link.consumer is not None else None,
            desired_capabilities=None,
            properties=None,
        )

    def detach_link(self, link: Link, failure: AmqpError) -> None:
        """Detach (and close) a link from this side, with the error saying why."""
        if link.state is LinkState.DETACH_SENT or self._closed:
            return
        link.state = LinkState.DETACH_SENT
        self._release(link)
        self.send(link.session.channel, Detach(handle=link.handle, closed=True, error=failure.info()))

    def _detached(self, session: Session, detach: Any) -> None:
        link = self._link(session, detach.handle)
        del session.links[detach.handle]
        self._release(link)
        if link.state is not LinkState.DETACH_SENT:
            link.state = LinkState.DETACH_SENT
            self.send(session.channel, Detach(handle=link.handle, closed=detach.closed, error=None))

    def _release(self, link: Link) -> None:
        if link.consumer is not None:
            self._hub.receivers.remove(link.consumer, link)
        if link.task is not None and link.task is not asyncio.current_task():
            link.task.cancel()

    async def _sending(self, link: Link, work: Coroutine[Any, Any, None]) -> None:
        """A sending link's task: a log failure detaches that link; a lost socket ends the connection."""
        try:
            await work
        except HubError as failure:
            self.detach_link(link, AmqpError(b"amqp:internal-error", failure.message))
        except ConnectionError:
            pass

    # -- deliveries the peer sends ---------------------------------------------------------------------

    async def _transfer(self, session: Session, transfer: Any) -> None:
        if session.count_incoming_transfer():
            self.send(session.channel, session.flow())
        link = self._link(session, transfer.handle)
        if link.state is LinkState.DETACH_SENT and not link.sending:
            return  # in flight when we detached: dropped
        delivery = link.take_transfer(transfer)
        if delivery is None:
            return
        outcome = await self._outcome(link, delivery)
        if not delivery.settled:
            self.send(
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
        if link.renew_publish_credit():
            self.send(session.channel, session.flow(link))

    async def _outcome(self, link: Link, delivery: IncomingDelivery) -> Any:
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
            elif isinstance(link.node, ServiceNode):
                await self._request(link, link.node, decode_message(payload))
        except AmqpError as refusal:
            return Rejected(error=refusal.info())
        return Accepted()

    async def _request(self, link: Link, node: ServiceNode, request: Any) -> None:
        """A `$cbs` put-token or a `$management` read; the reply goes to the node's reply link."""
        reply_link = self._reply_link(link, request)
        reply = await services.answer(node, request, self._hub, self._policy.sas_key, self._grants)
        reply_link.replies.put_nowait(reply)

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

"""The sessions and links of one connection: windows, credit, deliveries in and transfers out.

A session counts transfer ids and windows; a link counts deliveries and credit. Each link the endpoint
sends on has a task (`Link.task`) that waits for link credit and session window before each transfer,
so a slow or stalled peer holds up only itself: a partition receiver's task streams its partition from
the log, a `$cbs` or `$management` reply link's sends the replies queued for it. Outgoing transfers are
framed directly (`codec.transfer_frame`) and written together, one socket write per read from the log.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from paysim_cli.hub.amqp.codec import (
    AmqpError,
    Flow,
    ProtocolViolation,
    Source,
    Target,
    terminus,
    text,
    transfer_frame,
    transfer_overhead,
)
from paysim_cli.hub.amqp.hub import MAX_MESSAGE_BYTES, ConsumerNode, EventHub, Node
from paysim_cli.hub.amqp.messages import RuntimeMetrics, delivery_payloads

HANDLE_MAX = 255
SESSION_WINDOW = 5_000
# Deliveries a publisher may send before the endpoint renews its credit: batches of up to 1 MiB each.
PUBLISH_CREDIT = 1_000
# Events read from the log per round trip for one receiver (never more than its credit).
READ_BATCH = 500
# The most a transfer frame adds to its payload (the largest handle and delivery id).
MAX_TRANSFER_OVERHEAD = transfer_overhead(HANDLE_MAX, 2**32 - 1)
SELECTOR_FILTER = b"apache.org:selector-filter:string"
EPOCH_PROPERTY = b"com.microsoft:epoch"
RUNTIME_METRIC_CAPABILITY = b"com.microsoft:enable-receiver-runtime-metric"
SENDER, RECEIVER = False, True  # the AMQP role booleans


class ConnectionSide(Protocol):
    """What links and sessions need of their connection."""

    remote_max_frame_size: int

    def send(self, channel: int, performative: Any) -> None: ...

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def detach_link(self, link: Link, failure: AmqpError) -> None: ...


class LinkState(enum.Enum):
    ATTACHED = "attached"
    DETACH_SENT = "detach sent"


@dataclass(eq=False)
class IncomingDelivery:
    delivery_id: int
    settled: bool
    message_format: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


class Session:
    """A session: its channels, transfer ids, windows and the links attached to it."""

    def __init__(self, connection: ConnectionSide, channel: int, begin: Any) -> None:
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

    def update_window(self, flow: Any) -> None:
        """The peer's flow: its next incoming id and window bound what this side may transfer."""
        self.next_incoming_id = flow.next_outgoing_id
        remote_next_incoming = 0 if flow.next_incoming_id is None else flow.next_incoming_id
        self.remote_incoming_window = remote_next_incoming + flow.incoming_window - self.next_outgoing_id
        if self.remote_incoming_window > 0:
            self.window_open.set()

    def count_incoming_transfer(self) -> bool:
        """One transfer frame in; True when the incoming window was renewed and a flow must say so."""
        self.next_incoming_id += 1
        self.incoming_window -= 1
        if self.incoming_window <= SESSION_WINDOW // 2:
            self.incoming_window = SESSION_WINDOW
            return True
        return False

    async def wait_for_window(self) -> None:
        while self.remote_incoming_window <= 0:
            self.window_open.clear()
            await self.window_open.wait()


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
        desired = attach.desired_capabilities
        desired = desired if isinstance(desired, list) else [desired]
        self.runtime_metrics = self.sending and RUNTIME_METRIC_CAPABILITY in desired
        # Link flow control: what the peer let us send, or what we let it send.
        self.delivery_count = 0 if self.sending else int(attach.initial_delivery_count or 0)
        self.credit = 0
        self.drain = False
        self.credit_changed = asyncio.Event()
        self.incoming: IncomingDelivery | None = None
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    @property
    def owner_level(self) -> int | None:
        return self._owner_level

    @property
    def offered_capabilities(self) -> list[bytes] | None:
        """What the attach reply offers back: runtime metrics, to a receiver that asked for them."""
        return [RUNTIME_METRIC_CAPABILITY] if self.runtime_metrics else None

    def disconnect(self, failure: AmqpError) -> None:
        self.session.connection.detach_link(self, failure)

    def grant(self, credit: int) -> None:
        self.credit = credit
        self.credit_changed.set()

    def update_credit(self, flow: Any) -> None:
        """The peer's flow for this link: on a sending link, its credit (relative to the delivery count
        it last heard of) and whether to drain it."""
        if self.sending and flow.link_credit is not None:
            self.drain = bool(flow.drain)
            self.grant((flow.delivery_count or 0) + flow.link_credit - self.delivery_count)

    # -- deliveries the peer sends ---------------------------------------------------------------------

    def take_transfer(self, transfer: Any) -> IncomingDelivery | None:
        """A transfer frame the peer sent on this link: the delivery it completes, else None (more to
        come, or aborted). Past 1 MiB a delivery's bytes are no longer kept: it will be rejected."""
        if self.sending:
            raise ProtocolViolation(b"amqp:not-allowed", f"transfer on link {self.name}, which receives")
        delivery = self.incoming
        if delivery is None:
            if transfer.delivery_id is None:
                raise ProtocolViolation(
                    b"amqp:invalid-field", "the first transfer of a delivery needs its id"
                )
            delivery = IncomingDelivery(
                transfer.delivery_id, bool(transfer.settled), transfer.message_format or 0
            )
            self.delivery_count += 1
            self.credit -= 1
        if transfer.aborted:
            self.incoming = None
            return None
        delivery.size += len(transfer.payload)
        if delivery.size <= MAX_MESSAGE_BYTES:
            delivery.chunks.append(transfer.payload)
        self.incoming = delivery if transfer.more else None
        return None if transfer.more else delivery

    def renew_publish_credit(self) -> bool:
        """True when the peer's credit ran low and was renewed (a flow must tell it)."""
        if self.credit <= PUBLISH_CREDIT // 2 and self.state is LinkState.ATTACHED:
            self.grant(PUBLISH_CREDIT)
            return True
        return False

    # -- deliveries the endpoint sends ---------------------------------------------------------------

    async def wait_for_credit(self) -> None:
        while self.credit <= 0:
            self.credit_changed.clear()
            await self.credit_changed.wait()

    async def send(self, payloads: Iterable[bytes]) -> None:
        """Settled deliveries, each in as many transfer frames as the peer's max-frame-size needs, written
        together (flushed whenever credit or the session window makes this link wait)."""
        session, connection = self.session, self.session.connection
        pending = bytearray()
        for payload in payloads:
            if self.credit <= 0:
                connection.write(bytes(pending))
                pending.clear()
                await self.wait_for_credit()
            delivery_id: int | None = session.next_delivery_id
            session.next_delivery_id += 1
            if len(payload) + MAX_TRANSFER_OVERHEAD <= connection.remote_max_frame_size:
                room = len(payload)  # one frame, whatever the ids' encodings take (the common case)
            else:
                room = connection.remote_max_frame_size - transfer_overhead(self.handle, delivery_id)
            position = 0
            while True:
                if session.remote_incoming_window <= 0:
                    connection.write(bytes(pending))
                    pending.clear()
                    await session.wait_for_window()
                piece = payload[position : position + room]
                position += len(piece)
                more = position < len(payload)
                pending += transfer_frame(session.channel, self.handle, delivery_id, more, piece)
                session.next_outgoing_id += 1
                session.remote_incoming_window -= 1
                if not more:
                    break
                delivery_id = None  # continuation frames carry no delivery id
            self.delivery_count += 1
            self.credit -= 1
        connection.write(bytes(pending))
        await connection.drain()

    async def send_replies(self) -> None:
        """A `$cbs` or `$management` reply link's task."""
        while True:
            await self.send([await self.replies.get()])

    async def stream_partition(self, hub: EventHub, node: ConsumerNode, sequence_number: int) -> None:
        """A partition receiver's task: the partition's events from `sequence_number` on, as credit
        allows, with the partition's runtime metrics when the receiver asked for them."""
        while True:
            await self.wait_for_credit()
            count = min(self.credit, READ_BATCH)
            metrics = None
            if self.runtime_metrics:
                events, info = await hub.read_with_info(node.partition_id, sequence_number, count)
                metrics = RuntimeMetrics.of(info, datetime.now(UTC))
            else:
                events = await hub.read(node.partition_id, sequence_number, count)
            if not events:
                if self.drain:  # nothing to send: use up the credit, as drain asks
                    self.delivery_count += self.credit
                    self.credit, self.drain = 0, False
                    self.session.connection.send(self.session.channel, self.session.flow(self))
                await hub.wait_for_events(node.partition_id)
                continue
            await self.send(delivery_payloads(events, metrics))
            sequence_number = events[-1].sequence_number + 1

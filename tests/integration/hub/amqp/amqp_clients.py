"""Shared by the endpoint's tests: where a running endpoint is and how SDK clients reach it."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paysim_cli.hub.amqp.codec import (
    AMQP_FRAME,
    AMQP_HEADER,
    SASL_FRAME,
    SASL_HEADER,
    Attach,
    Begin,
    Close,
    Open,
    SaslInit,
    Source,
    Target,
    decode_performative,
    encode_frame,
    parse_frame_header,
)

PARTITIONS = 4
HUB = "payments"


@dataclass
class Endpoint:
    port: int
    event_log: Path
    loop: asyncio.AbstractEventLoop

    def connection_string(
        self, key_name: str = "RootManageSharedAccessKey", key: str = "SAS_KEY_VALUE"
    ) -> str:
        return (
            f"Endpoint=sb://localhost:{self.port};SharedAccessKeyName={key_name};SharedAccessKey={key};"
            f"UseDevelopmentEmulator=true;EntityPath={HUB}"
        )

    def client_options(self) -> dict[str, Any]:
        """SDK client options for fast tests: no retries, short waits."""
        return {"conn_str": self.connection_string(), "retry_total": 0}


class RawClient:
    """A bare AMQP peer over a socket, for what the SDK never sends: garbage, truncation, violations.
    Frames are built with the endpoint's codec (the SDK's encoder)."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.socket.close()

    def receive_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.socket.recv(size - len(data))
            if not chunk:
                raise ConnectionError(f"closed after {len(data)} of {size} bytes")
            data += chunk
        return data

    def read_frame(self) -> tuple[int, Any]:
        header = parse_frame_header(self.receive_exactly(8), 1 << 30)
        body = memoryview(self.receive_exactly(header.size - 8))[header.body_offset :]
        return header.channel, decode_performative(body) if body else None

    def send(self, performative: Any, channel: int = 0, frame_type: int = AMQP_FRAME) -> None:
        self.socket.sendall(encode_frame(channel, performative, frame_type))

    def handshake(self, mechanism: bytes = b"ANONYMOUS", response: bytes | None = None) -> int:
        """SASL with `mechanism`; returns the outcome code (0 is ok), then the AMQP header when ok."""
        self.socket.sendall(SASL_HEADER)
        assert self.receive_exactly(8) == SASL_HEADER
        _, mechanisms = self.read_frame()
        assert mechanism in mechanisms[0] or mechanism == b"EXTERNAL"
        self.send(
            SaslInit(mechanism=mechanism, initial_response=response, hostname="localhost"), 0, SASL_FRAME
        )
        _, outcome = self.read_frame()
        if outcome[0] == 0:
            self.socket.sendall(AMQP_HEADER)
            assert self.receive_exactly(8) == AMQP_HEADER
        return int(outcome[0])

    def open(self, idle_timeout_ms: int | None = None, max_frame_size: int = 65_536) -> Any:
        self.handshake()
        self.send(
            Open(
                container_id="raw",
                hostname="localhost",
                max_frame_size=max_frame_size,
                channel_max=10,
                idle_timeout=idle_timeout_ms,
                outgoing_locales=None,
                incoming_locales=None,
                offered_capabilities=None,
                desired_capabilities=None,
                properties=None,
            )
        )
        return self.read_frame()[1]

    def begin(self, channel: int = 0, incoming_window: int = 100) -> Any:
        self.send(
            Begin(
                remote_channel=None,
                next_outgoing_id=0,
                incoming_window=incoming_window,
                outgoing_window=100,
                handle_max=10,
                offered_capabilities=None,
                desired_capabilities=None,
                properties=None,
            ),
            channel,
        )
        return self.read_frame()[1]

    def closing_error(self) -> Any:
        """Read frames until the endpoint's close; its error (None for a clean close)."""
        while True:
            _, performative = self.read_frame()
            if isinstance(performative, Close):
                return performative.error

    def closed_by_peer(self) -> bool:
        try:
            return self.socket.recv(1) == b""
        except ConnectionResetError:
            return True


def attach(name: str, handle: int, address: str, *, receiving: bool, local: str = "raw") -> Attach:
    """An attach for a link to `address`; `local` names this peer's end of it."""
    return Attach(
        name=name,
        handle=handle,
        role=receiving,
        send_settle_mode=2,
        rcv_settle_mode=0,
        source=Source(address=address if receiving else local),
        target=Target(address=local if receiving else address),
        unsettled=None,
        incomplete_unsettled=False,
        initial_delivery_count=None if receiving else 0,
        max_message_size=None,
        offered_capabilities=None,
        desired_capabilities=None,
        properties=None,
    )

"""The endpoint's listening socket: accepts connections on 127.0.0.1 and serves each with its own task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from paysim_cli.hub.amqp.connection import AmqpConnection, ConnectionPolicy
from paysim_cli.hub.amqp.hub import EventHub

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """What to serve and where: the local event log as the event hub `eventhub_name`."""

    event_log: Path
    eventhub_name: str = "payments"
    host: str = "127.0.0.1"
    port: int = 5672
    policy: ConnectionPolicy = field(default_factory=ConnectionPolicy)


class AmqpServer:
    """Start with `start()` (returns the bound port; port 0 picks a free one), stop with `close()`."""

    def __init__(self, config: EndpointConfig) -> None:
        self._config = config
        self._hub: EventHub | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._hub = EventHub(self._config.event_log, self._config.eventhub_name)
        self._server = await asyncio.start_server(self._accept, self._config.host, self._config.port)
        port: int = self._server.sockets[0].getsockname()[1]
        _LOGGER.info("serving %s on amqp://%s:%d", self._config.eventhub_name, self._config.host, port)
        return port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._hub is not None
        task = asyncio.current_task()
        assert task is not None  # a start_server callback runs in a task
        self._connections.add(task)
        try:
            await AmqpConnection(reader, writer, self._hub, self._config.policy).serve()
        finally:
            self._connections.discard(task)

    async def close(self) -> None:
        """Stop listening, drop every connection, release the log."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self._hub is not None:
            self._hub.close()


async def serve(config: EndpointConfig, stop: asyncio.Event) -> None:
    """Serve until `stop` is set."""
    server = AmqpServer(config)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.close()

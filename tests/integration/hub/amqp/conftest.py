"""The AMQP endpoint served in-process (so coverage counts it) from a fresh local event log, on a free
port, in a thread of its own: the SDK clients under test block, the server runs an asyncio loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from amqp_clients import HUB, PARTITIONS, Endpoint

from paysim_cli.hub.amqp.auth import SharedAccessKey
from paysim_cli.hub.amqp.connection import ConnectionPolicy
from paysim_cli.hub.amqp.server import AmqpServer, EndpointConfig
from paysim_cli.hub.local_log import LocalEventLog


@pytest.fixture
def event_log(tmp_path: Path) -> Path:
    path = tmp_path / "hub" / "events.db"
    LocalEventLog.create(path, PARTITIONS).close()
    return path


EndpointFactory = Callable[..., Endpoint]


@pytest.fixture
def start_endpoint(event_log: Path) -> Iterator[EndpointFactory]:
    """Start endpoints (with a SAS key to verify, or a short idle time-out); all stop after the test."""
    running: list[tuple[AmqpServer, asyncio.AbstractEventLoop, threading.Thread]] = []

    def start(sas_key: SharedAccessKey | None = None, idle_timeout_seconds: float = 240.0) -> Endpoint:
        policy = ConnectionPolicy(sas_key=sas_key, idle_timeout_seconds=idle_timeout_seconds)
        server = AmqpServer(EndpointConfig(event_log=event_log, eventhub_name=HUB, port=0, policy=policy))
        loop = asyncio.new_event_loop()
        port = loop.run_until_complete(server.start())
        thread = threading.Thread(target=loop.run_forever, name="amqp-endpoint", daemon=True)
        thread.start()
        running.append((server, loop, thread))
        return Endpoint(port, event_log, loop)

    yield start
    for server, loop, thread in running:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def endpoint(start_endpoint: EndpointFactory) -> Endpoint:
    return start_endpoint()

"""The local AMQP endpoint served in-process over the test's local log, and the settings that reach it
(Event Hubs through the endpoint, checkpoints and raw events in the real Azurite, the real PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest

from paysim_cli.hub.amqp.connection import ConnectionPolicy
from paysim_cli.hub.amqp.server import AmqpServer, EndpointConfig
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.local import state as local_state
from paysim_cli.settings import Settings


@pytest.fixture
def eventhub_connection_string(settings: Settings) -> Iterator[str]:
    """An endpoint on a free port serving a fresh local log as the settings' hub; stopped afterwards."""
    LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
    server = AmqpServer(
        EndpointConfig(
            event_log=settings.event_log_path,
            eventhub_name=settings.eventhub_name,
            port=0,
            policy=ConnectionPolicy(),
        )
    )
    loop = asyncio.new_event_loop()
    port = loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, name="amqp-endpoint", daemon=True)
    thread.start()
    yield local_state.eventhub_connection_string(port, settings.eventhub_name, None)
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def eventhub_settings(
    settings: Settings,
    eventhub_connection_string: str,
    migrated_database_url: str,
    blob_connection_string: str,
) -> Settings:
    """Settings as `--env local` resolves them with the stack up: hub, database (migrated) and blob."""
    return settings.override(
        eventhub_connection_string=eventhub_connection_string,
        database_url=migrated_database_url,
        blob_connection_string=blob_connection_string,
        raw_events_container=f"raw-{uuid.uuid4().hex[:12]}",
    )


@pytest.fixture
def eventhub_env(eventhub_settings: Settings) -> dict[str, str]:
    """The same settings for the CLI, as environment variables."""
    return {
        "PAYSIM_EVENTHUB_CONNECTION_STRING": str(eventhub_settings.eventhub_connection_string),
        "PAYSIM_DATABASE_URL": str(eventhub_settings.database_url),
        "PAYSIM_BLOB_CONNECTION_STRING": str(eventhub_settings.blob_connection_string),
        "PAYSIM_RAW_EVENTS_CONTAINER": eventhub_settings.raw_events_container,
    }

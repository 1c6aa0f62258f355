"""Helpers for the health tests: a prepared local stack, its settings as CLI variables, a running host."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from paysim_cli import migrations
from paysim_cli.blob import container_client
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.pipeline.host import PipelineHost, PipelineRequest
from paysim_cli.settings import Settings


def prepare_stack(settings: Settings, *, migrate: bool = True) -> Settings:
    """The event log created, every migration applied (unless the database is a migrated copy already),
    the raw-events container present."""
    LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
    if migrate:
        migrations.upgrade(settings)
    with container_client(settings, settings.raw_events_container) as container:
        container.create_container()
    return settings


def stack_env(settings: Settings) -> dict[str, str]:
    """The same settings for the CLI (whose --state-dir is the test's state directory)."""
    return {
        "PAYSIM_DATABASE_URL": str(settings.database_url),
        "PAYSIM_BLOB_CONNECTION_STRING": str(settings.blob_connection_string),
        "PAYSIM_RAW_EVENTS_CONTAINER": settings.raw_events_container,
    }


@contextmanager
def running_pipeline(settings: Settings, workers: int = 1) -> Iterator[PipelineHost]:
    """`paysim pipeline run` as a service, polled on a thread, until the block ends."""
    request = PipelineRequest(workers=workers, batch_size=500, max_wait_ms=20)
    with PipelineHost(settings, request) as host:
        host.wait_ready()
        stop = threading.Event()
        poller = threading.Thread(
            target=host.run_until, kwargs={"until_drained": False, "should_stop": stop.is_set}, daemon=True
        )
        poller.start()
        with LocalEventLog.open(settings.event_log_path) as log:  # the workers have claimed their share
            deadline = time.monotonic() + 30
            while len(log.partition_leases(settings.consumer_group)) < settings.hub_partitions:
                assert time.monotonic() < deadline, "the workers never claimed the partitions"
                time.sleep(0.1)
        try:
            yield host
        finally:
            stop.set()
            poller.join(timeout=60)
            host.stop("interrupted")

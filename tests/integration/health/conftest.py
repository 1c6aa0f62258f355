"""A whole local pipeline for `paysim health`: the event log, a migrated database, a raw-events container
in Azurite, and load to publish into it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from health_stack import prepare_stack

from paysim_cli.hub.targets import open_publisher
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.settings import Settings
from paysim_cli.simulator.generator import EventGenerator
from paysim_cli.simulator.profile_store import load_profile

PROFILE = Path(__file__).resolve().parents[3] / "profiles" / "default.yaml"


@pytest.fixture
def stack_settings(settings: Settings, migrated_database_url: str, blob_connection_string: str) -> Settings:
    return prepare_stack(
        settings.override(
            database_url=migrated_database_url,
            blob_connection_string=blob_connection_string,
            raw_events_container=f"raw-{uuid.uuid4().hex[:12]}",
        ),
        migrate=False,
    )


Publish = Callable[[int], int]


@pytest.fixture
def publish_payments(stack_settings: Settings) -> Publish:
    """Publish `count` valid payments (the simulator's generator) to the local log; returns count."""
    offset = [0]

    def publish(count: int) -> int:
        generator = EventGenerator(
            load_profile(PROFILE), seed=11, worker=0, run_id="health-load", start_ms=int(time.time() * 1000)
        )
        bodies = generator.block(offset[0], np.arange(count) / 1000.0).bodies
        offset[0] += 1
        with closing(open_publisher(stack_settings)) as publisher:
            publisher.publish([OutgoingEvent(body, partition_key=str(n)) for n, body in enumerate(bodies)])
        return count

    return publish

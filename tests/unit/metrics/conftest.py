"""Metrics fixtures: a migrated database, and a raw-events container of its own on the real Azurite."""

from __future__ import annotations

import uuid

import pytest

from paysim_cli.settings import Settings


@pytest.fixture
def metrics_settings(settings: Settings, migrated_database_url: str, blob_connection_string: str) -> Settings:
    """Settings on a fresh, migrated database and an empty raw-events container name."""
    return settings.override(
        database_url=migrated_database_url,
        blob_connection_string=blob_connection_string,
        raw_events_container=f"raw-{uuid.uuid4().hex[:12]}",
    )

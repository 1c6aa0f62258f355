"""Reconciliation fixtures: a migrated database, a hand-built manifest, and the rows the pipeline writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from azure.storage.blob import ContainerClient

from paysim_cli.runs.layout import MANIFEST_FILE, run_directory
from paysim_cli.runs.manifest import (
    ManifestTotals,
    ProfileReference,
    RunManifest,
    WindowCell,
    write_manifest,
)
from paysim_cli.settings import Settings
from paysim_pipeline.events import IncomingEvent
from paysim_pipeline.sinks.blob import blob_name, encode_raw_events

RUN_ID = "20251128T000000000Z-s7"
WINDOW = datetime(2025, 11, 28, 0, 0, tzinfo=UTC)
NEXT_WINDOW = datetime(2025, 11, 28, 0, 5, tzinfo=UTC)
# (window, payment type, currency, mcc, channel, status, count, amount sum)
CELLS = [
    (WINDOW, "card", "USD", "5411", "pos", "approved", 3, 6015),
    (WINDOW, "card", "USD", "5411", "pos", "declined", 1, 250),
    (NEXT_WINDOW, "wire", "EUR", "6012", "online_banking", "approved", 2, 1_000_000),
]


@pytest.fixture
def archive_container() -> str:
    return f"raw-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db_settings(
    settings: Settings, migrated_database_url: str, blob_connection_string: str, archive_container: str
) -> Settings:
    """Settings on a fresh database with the pipeline's schema, and a raw-events container of its own."""
    return settings.override(
        database_url=migrated_database_url,
        blob_connection_string=blob_connection_string,
        raw_events_container=archive_container,
    )


@pytest.fixture
def archive_env(db_settings: Settings) -> dict[str, str]:
    """The environment that points the CLI at the test's database and archive."""
    return {
        "PAYSIM_DATABASE_URL": str(db_settings.database_url),
        "PAYSIM_BLOB_CONNECTION_STRING": str(db_settings.blob_connection_string),
        "PAYSIM_RAW_EVENTS_CONTAINER": db_settings.raw_events_container,
    }


def _archive(settings: Settings, events: int, partition_id: str = "0", first: int = 0) -> str:
    """Archive `events` events of the run, as the pipeline writes a batch; the blob's name."""
    batch = [
        IncomingEvent(b"{}", number, properties={"run_id": RUN_ID}) for number in range(first, first + events)
    ]
    name = blob_name(settings.eventhub_name, settings.consumer_group, partition_id, first, first + events - 1)
    with ContainerClient.from_connection_string(
        str(settings.blob_connection_string), settings.raw_events_container
    ) as container:
        if not container.exists():
            container.create_container()
        container.upload_blob(name, encode_raw_events(batch, partition_id), overwrite=True)
    return name


def manifest(target: str = "local", cells: list[tuple[Any, ...]] = CELLS, **totals: Any) -> RunManifest:
    """A manifest of 6 valid events (one fraud), 2 malformed and 1 duplicate, unless told otherwise."""
    windows = [
        WindowCell(
            window_start=window,
            payment_type=kind,
            currency=currency,
            mcc=mcc,
            channel=channel,
            status=status,
            count=count,
            amount_minor_sum=amount,
        )
        for window, kind, currency, mcc, channel, status, count, amount in cells
    ]
    values: dict[str, Any] = {
        "delivered": 9,
        "valid": 6,
        "malformed": 2,
        "malformed_by_kind": {"not_json": 1, "missing_field": 1},
        "duplicates": 1,
        "out_of_order": 0,
        "undelivered": 0,
        "fraud": {"card_testing": 1},
        "amount_minor_by_currency": {"EUR": 1_000_000, "USD": 6265},
    } | totals
    return RunManifest(
        run_id=RUN_ID,
        profile=ProfileReference(name="chaos", path=Path("profiles/chaos.yaml"), sha256="0" * 64),
        seed=7,
        workers=1,
        target=target,
        partition_key_field="customer.id",
        event_time_origin=WINDOW,
        started_at=WINDOW,
        finished_at=WINDOW,
        totals=ManifestTotals(**values),
        windows=windows,
    )


WriteManifest = Callable[..., Path]


@pytest.fixture
def write_run(settings: Settings) -> WriteManifest:
    """Writes a manifest (see `manifest`) where `paysim simulate` would."""

    def write(**options: Any) -> Path:
        path = run_directory(settings, RUN_ID) / MANIFEST_FILE
        write_manifest(manifest(**options), path)
        return path

    return write


Archive = Callable[..., str]


@pytest.fixture
def archive() -> Archive:
    """archive(settings, events, partition_id="0", first=0): archive the run's events as one blob."""
    return _archive


Rows = Callable[..., None]


@pytest.fixture
def pipeline_rows(migrated_database_url: str, db_settings: Settings) -> Rows:
    """Writes the run's rows as the pipeline would: totals, windows (fraud in the first), failed items."""

    def write(
        processed: int = 6,
        duplicates: int = 1,
        failed: int = 2,
        cells: list[tuple[Any, ...]] = CELLS,
        fraud: int = 1,
        archived: int = 9,
    ) -> None:
        if archived:
            _archive(db_settings, archived)
        with psycopg.connect(migrated_database_url) as conn:
            conn.execute(
                "INSERT INTO run_totals VALUES (%s, %s, %s, %s, now(), now())",
                (RUN_ID, processed, duplicates, failed),
            )
            for index, (window, kind, currency, mcc, channel, status, count, amount) in enumerate(cells):
                conn.execute(
                    "INSERT INTO run_metrics_5m (run_id, window_start, payment_type, currency, "
                    "merchant_category, channel, status, event_count, amount_sum, fraud_count) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        RUN_ID,
                        window,
                        kind,
                        currency,
                        mcc,
                        channel,
                        status,
                        count,
                        amount,
                        fraud if index == 0 else 0,
                    ),
                )
            for number in range(failed):
                conn.execute(
                    "INSERT INTO failed_items (raw_payload, stage, error_code, error_message, "
                    "source_partition, source_sequence_number, run_id) "
                    "VALUES ('x', 'decode', 'not_json', 'not JSON', '0', %s, %s)",
                    (number, RUN_ID),
                )

    return write

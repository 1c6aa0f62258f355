"""Pipeline fixtures on the real local stack: a migrated database, a fresh blob container, a processor,
simulator-generated events, and the totals a test compares before and after."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
import pytest
from azure.storage.blob import BlobServiceClient

from paysim_cli.simulator.generator import EventGenerator
from paysim_cli.simulator.profile_store import load_profile
from paysim_pipeline.config import PipelineConfig
from paysim_pipeline.processor import BatchProcessor, IncomingEvent

PROFILE = Path(__file__).resolve().parents[3] / "profiles" / "default.yaml"
RUN_ID = "20261123T000000000Z-s7"

Query = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def container() -> str:
    return f"raw-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def config(migrated_database_url: str, blob_connection_string: str, container: str) -> PipelineConfig:
    return PipelineConfig(
        database_url=migrated_database_url,
        blob_connection_string=blob_connection_string,
        raw_events_container=container,
        blob_attempts=2,
        blob_backoff_seconds=0,
    )


@pytest.fixture
def processor(config: PipelineConfig) -> Iterator[BatchProcessor]:
    processor = BatchProcessor(config)
    yield processor
    processor.close()


@pytest.fixture
def query(migrated_database_url: str) -> Query:
    def run(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(migrated_database_url, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    return run


@pytest.fixture
def totals(query: Query) -> Callable[[], dict[str, Any]]:
    """Every total a redelivery or a crash could disturb, in one comparable dict."""

    def read() -> dict[str, Any]:
        return {
            "metrics": query(
                "SELECT coalesce(sum(event_count), 0), coalesce(sum(amount_sum), 0),"
                " coalesce(sum(fraud_count), 0), count(*) FROM payment_metrics_5m"
            )[0],
            "histogram": query(
                "SELECT coalesce(sum(c), 0) FROM aggregate_histograms, unnest(amount_bucket_counts) AS c"
            )[0],
            "runs": query(
                "SELECT coalesce(sum(event_count), 0), coalesce(sum(amount_sum), 0) FROM run_metrics_5m"
            )[0],
            "run_totals": query(
                "SELECT run_id, processed, duplicates_dropped, failed FROM run_totals ORDER BY 1"
            ),
            "dynamic": query(
                "SELECT metric_name, sum(value), sum(sample_count) FROM dynamic_metrics GROUP BY 1 ORDER BY 1"
            ),
            "dedupe": query("SELECT count(*) FROM processed_transactions")[0],
            "failed": query("SELECT error_code, count(*) FROM failed_items GROUP BY 1 ORDER BY 1"),
            "checkpoints": query(
                "SELECT consumer_group, partition_id, last_sequence_number FROM partition_checkpoints"
                " ORDER BY 1, 2"
            ),
        }

    return read


@pytest.fixture
def blob_names(blob_connection_string: str, container: str) -> Callable[[], list[str]]:
    def names() -> list[str]:
        service = BlobServiceClient.from_connection_string(blob_connection_string)
        client = service.get_container_client(container)
        if not client.exists():
            return []
        return sorted(blob.name for blob in client.list_blobs())

    return names


@pytest.fixture
def generated_bodies() -> Callable[[int], list[bytes]]:
    """`count` valid events from the simulator's generator, timed from now (its default profile)."""

    def generate(count: int, seed: int = 7) -> list[bytes]:
        generator = EventGenerator(
            load_profile(PROFILE),
            seed=seed,
            worker=0,
            run_id=RUN_ID,
            start_ms=int(time.time() * 1000) - 60_000,
        )
        return generator.block(0, np.arange(count) / 100.0).bodies

    return generate


Batch = Callable[..., list[IncomingEvent]]


@pytest.fixture
def make_batch() -> Batch:
    return _batch


def _batch(bodies: list[bytes], first_sequence_number: int = 0, **properties: object) -> list[IncomingEvent]:
    """Events of one partition, numbered from `first_sequence_number`, with a run_id property."""
    return [
        IncomingEvent(
            body=body,
            sequence_number=first_sequence_number + index,
            offset=str(4096 * (first_sequence_number + index)),
            enqueued_time=datetime.now(UTC),
            partition_key=f"c{index:07d}",
            properties={"run_id": RUN_ID, "intended_ms": 0, **properties},
        )
        for index, body in enumerate(bodies)
    ]


@pytest.fixture
def edit_body() -> Callable[..., bytes]:
    return _edit_body


def _edit_body(base: bytes, **fields: Any) -> bytes:
    """`base` with some top-level fields replaced (or removed, with the value `...`)."""
    document = orjson.loads(base)
    for name, value in fields.items():
        if value is ...:
            del document[name]
        else:
            document[name] = value
    return orjson.dumps(document)

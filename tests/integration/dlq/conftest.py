"""DLQ fixtures on the real local stack: a migrated database and a raw-events container of their own,
failed items made by the real processor, the CLI's environment for them, and table snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from dlq_results import PROFILES, RUN_ID

from paysim_cli import migrations
from paysim_cli.settings import Settings
from paysim_cli.simulator.generator import EventGenerator
from paysim_cli.simulator.profile_store import load_profile
from paysim_pipeline.config import PipelineConfig
from paysim_pipeline.processor import BatchProcessor, IncomingEvent

# The business rule the failed items broke at ingest: events at most an hour old. Replays run with the
# default rule (a week), so the events made here, two hours old, are fixable by that change.
STRICT_AGE_SECONDS = 3600
EVENT_AGE_MS = 2 * 3600 * 1000

Query = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def container() -> str:
    return f"raw-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def dlq_env(database_url: str, blob_connection_string: str, container: str) -> dict[str, str]:
    """The environment a `paysim dlq` invocation needs for this test's database and container."""
    return {
        "PAYSIM_DATABASE_URL": database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": blob_connection_string,
        "PAYSIM_RAW_EVENTS_CONTAINER": container,
    }


@pytest.fixture
def dlq_settings(settings: Settings, dlq_env: dict[str, str]) -> Settings:
    """Settings on the migrated database and the container of `dlq_env`."""
    configured = settings.override(
        database_url=dlq_env["PAYSIM_DATABASE_URL"],
        blob_connection_string=dlq_env["PAYSIM_BLOB_CONNECTION_STRING"],
        raw_events_container=dlq_env["PAYSIM_RAW_EVENTS_CONTAINER"],
    )
    migrations.upgrade(configured)
    return configured


@pytest.fixture
def ingest(dlq_settings: Settings) -> Iterator[Callable[..., Any]]:
    """Process bodies with the real processor, under the strict age rule unless `strict=False`."""
    processors: dict[bool, BatchProcessor] = {}

    def process(bodies: list[bytes], *, partition: str = "0", first: int = 0, strict: bool = True) -> Any:
        if strict not in processors:
            processors[strict] = BatchProcessor(
                PipelineConfig(
                    database_url=str(dlq_settings.database_url),
                    blob_connection_string=dlq_settings.blob_connection_string,
                    raw_events_container=dlq_settings.raw_events_container,
                    max_event_age_seconds=STRICT_AGE_SECONDS if strict else 7 * 86400,
                )
            )
        batch = [
            IncomingEvent(
                body=body,
                sequence_number=first + index,
                offset=str(first + index),
                enqueued_time=datetime.now(UTC),
                properties={"run_id": RUN_ID},
            )
            for index, body in enumerate(bodies)
        ]
        # A consumer group of its own: the sequence numbers here are made up, and must not move the
        # checkpoints of a pipeline that reads the local log in the same test.
        return processors[strict].process(batch, partition, "$ingest")

    yield process
    for processor in processors.values():
        processor.close()


@pytest.fixture
def bodies() -> Callable[..., list[bytes]]:
    """`count` valid events of the default profile, two hours old (the strict rule refuses them)."""

    def generate(count: int, seed: int = 3, profile: str = "default") -> list[bytes]:
        generator = EventGenerator(
            load_profile(PROFILES / f"{profile}.yaml"),
            seed=seed,
            worker=0,
            run_id=RUN_ID,
            start_ms=int(time.time() * 1000) - EVENT_AGE_MS,
        )
        return generator.block(0, np.arange(count) / 1000.0).bodies

    return generate


@pytest.fixture
def query(dlq_env: dict[str, str]) -> Query:
    def run(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(dlq_env["PAYSIM_DATABASE_URL"], autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    return run


@pytest.fixture
def metrics(query: Query) -> Callable[[], dict[str, Any]]:
    """The totals a replay may change, and nothing else may."""

    def read() -> dict[str, Any]:
        return {
            "payments": query(
                "SELECT coalesce(sum(event_count), 0), coalesce(sum(amount_sum), 0) FROM payment_metrics_5m"
            )[0],
            "histogram": query(
                "SELECT coalesce(sum(c), 0) FROM aggregate_histograms, unnest(amount_bucket_counts) AS c"
            )[0],
            "dedupe": query("SELECT count(*) FROM processed_transactions")[0][0],
            "runs": query("SELECT coalesce(sum(event_count), 0) FROM run_metrics_5m")[0][0],
            "run_totals": query("SELECT run_id, processed, duplicates_dropped, failed FROM run_totals"),
        }

    return read


@pytest.fixture
def snapshot(query: Query) -> Callable[[], dict[str, Any]]:
    """Every row a replay could write, for "nothing changed" comparisons."""
    tables = {
        "failed_items": "SELECT * FROM failed_items ORDER BY id",
        "failed_item_history": "SELECT * FROM failed_item_history ORDER BY id",
        "payment_metrics_5m": "SELECT * FROM payment_metrics_5m ORDER BY 1, 2, 3, 4, 5, 6",
        "aggregate_histograms": "SELECT * FROM aggregate_histograms ORDER BY 1, 2, 3, 4, 5, 6",
        "dynamic_metrics": "SELECT * FROM dynamic_metrics ORDER BY 1, 2, 3, 4::text",
        "processed_transactions": "SELECT * FROM processed_transactions ORDER BY 1, 2",
        "run_totals": "SELECT * FROM run_totals ORDER BY 1",
    }
    return lambda: {name: query(sql) for name, sql in tables.items()}


@pytest.fixture
def paysim_process(
    state_dir: Path, dlq_env: dict[str, str], tmp_path: Path
) -> Callable[..., subprocess.Popen[bytes]]:
    """Start `python -m paysim_cli --state-dir ... ARGS` as a real process on this test's stack."""

    def start(*args: str) -> subprocess.Popen[bytes]:
        environ = {**os.environ, **dlq_env}
        return subprocess.Popen(
            [sys.executable, "-m", "paysim_cli", "--state-dir", str(state_dir), *args],
            env=environ,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    return start

"""The processor's OpenTelemetry metrics, read with the SDK's in-memory reader: per batch, exact values."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from paysim_pipeline.processor import BatchProcessor
from paysim_pipeline.telemetry import (
    BATCH_DURATION,
    BATCH_FAILURES,
    DUPLICATES_DROPPED,
    END_TO_END_LATENCY,
    EVENTS_PROCESSED,
    FAILED_ITEMS,
    PipelineTelemetry,
    telemetry_from_environment,
)


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def instrumented(config, reader) -> Iterator[BatchProcessor]:
    provider = MeterProvider(metric_readers=[reader])
    processor = BatchProcessor(config, telemetry=PipelineTelemetry(provider.get_meter("test")))
    yield processor
    processor.close()
    provider.shutdown()


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = list(metric.data.data_points)
    return found


def test_a_batch_records_processed_duplicates_failed_by_code_duration_and_latency(
    instrumented, reader, make_batch, generated_bodies, edit_body
) -> None:
    bodies = generated_bodies(30)
    intended_ms = int(time.time() * 1000) - 2_000  # the oldest event was meant to be sent 2 s ago
    events = make_batch(
        [*bodies, bodies[0], bodies[1], b"not json", edit_body(bodies[2], currency="XYZ")],
        intended_ms=intended_ms,
    )

    instrumented.process(events, "5", "$Default")
    points = _points(reader)

    assert [(p.attributes, p.value) for p in points[EVENTS_PROCESSED]] == [({"partition_id": "5"}, 30)]
    assert [p.value for p in points[DUPLICATES_DROPPED]] == [2]
    assert sorted((p.attributes["error_code"], p.value) for p in points[FAILED_ITEMS]) == [
        ("not_json", 1),
        ("unknown_currency", 1),
    ]
    (duration,) = points[BATCH_DURATION]
    assert duration.count == 1
    assert 0 < duration.sum < 60
    (latency,) = points[END_TO_END_LATENCY]
    assert latency.count == 1
    assert 2.0 <= latency.max < 60
    assert BATCH_FAILURES not in points


def test_a_failing_batch_counts_a_batch_failure_and_a_redelivery_below_the_checkpoint_nothing(
    instrumented, reader, make_batch, generated_bodies, migrated_database_url
) -> None:
    import psycopg

    events = make_batch(generated_bodies(5))
    instrumented.process(events, "1", "$Default")
    instrumented.process(events, "1", "$Default")  # all below the checkpoint: no new points
    with psycopg.connect(migrated_database_url, autocommit=True) as connection:
        connection.execute("ALTER TABLE run_totals RENAME TO run_totals_gone")
    with pytest.raises(psycopg.errors.UndefinedTable):
        instrumented.process(
            make_batch(generated_bodies(3, seed=9), first_sequence_number=5), "1", "$Default"
        )

    points = _points(reader)
    assert [p.value for p in points[EVENTS_PROCESSED]] == [5]
    assert [p.count for p in points[BATCH_DURATION]] == [1]
    assert [(p.attributes, p.value) for p in points[BATCH_FAILURES]] == [
        ({"partition_id": "1", "error_type": "UndefinedTable"}, 1)
    ]


def test_without_a_connection_string_nothing_is_configured_or_imported() -> None:
    assert telemetry_from_environment({}) is None
    assert telemetry_from_environment({"APPLICATIONINSIGHTS_CONNECTION_STRING": "  "}) is None
    code = (
        "import sys; from paysim_pipeline.processor import BatchProcessor; "
        "from paysim_pipeline.telemetry import telemetry_from_environment as t; t({}); "
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'azure.monitor'))))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_with_a_connection_string_the_azure_monitor_distro_exports_the_meter(monkeypatch) -> None:
    import azure.monitor.opentelemetry as distro

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **options: calls.append(options))
    telemetry = telemetry_from_environment(
        {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-0",
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD;ClientId=abc",
        }
    )

    assert isinstance(telemetry, PipelineTelemetry)
    (options,) = calls
    assert options["connection_string"].startswith("InstrumentationKey=")
    assert (options["disable_tracing"], options["disable_logging"], options["enable_live_metrics"]) == (
        True,
        True,
        False,
    )
    assert type(options["credential"]).__name__ == "DefaultAzureCredential"

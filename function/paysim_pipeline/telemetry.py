"""The Function's OpenTelemetry metrics: a handful of instrument calls per batch, never per event.

Exported to Application Insights through the Azure Monitor distro when
APPLICATIONINSIGHTS_CONNECTION_STRING is set (the Functions platform sets it from the app setting);
without it nothing is imported, nothing is recorded and nothing is exported, so a local run pays
nothing. Recording once per batch keeps the cost at a few tens of microseconds a batch (one
OpenTelemetry record costs ~10 µs here, which per event would cost more than the 5 % the bench allows).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from paysim_pipeline.events import IncomingEvent

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

    from paysim_pipeline.outcome import BatchOutcome

METER_NAME = "paysim_pipeline"
CONNECTION_STRING_VARIABLE = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_VARIABLE = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"

# Instrument names, as Application Insights shows them (customMetrics / AppMetrics `Name`).
EVENTS_PROCESSED = "paysim.pipeline.events_processed"
DUPLICATES_DROPPED = "paysim.pipeline.duplicates_dropped"
FAILED_ITEMS = "paysim.pipeline.failed_items"
BATCH_FAILURES = "paysim.pipeline.batch_failures"
BATCH_DURATION = "paysim.pipeline.batch_duration"
END_TO_END_LATENCY = "paysim.pipeline.end_to_end_latency"


class BatchRecorder(Protocol):
    """What the processor tells telemetry: one call per batch, committed or failed."""

    def batch_committed(
        self,
        partition_id: str,
        outcome: BatchOutcome,
        duration_seconds: float,
        events: Sequence[IncomingEvent],
    ) -> None: ...

    def batch_failed(self, partition_id: str, error: BaseException, duration_seconds: float) -> None: ...


class PipelineTelemetry:
    """The pipeline's instruments on one meter (the global one in Azure, an in-memory one in tests)."""

    def __init__(self, meter: Meter) -> None:
        self._events = meter.create_counter(
            EVENTS_PROCESSED, unit="{event}", description="Valid events aggregated for the first time"
        )
        self._duplicates = meter.create_counter(
            DUPLICATES_DROPPED, unit="{event}", description="Valid events dropped as already processed"
        )
        self._failed = meter.create_counter(
            FAILED_ITEMS, unit="{event}", description="Events that became failed items, by error code"
        )
        self._batch_failures = meter.create_counter(
            BATCH_FAILURES, unit="{batch}", description="Batches whose processing raised (redelivered)"
        )
        self._duration = meter.create_histogram(
            BATCH_DURATION, unit="s", description="Decode to commit, per batch"
        )
        self._latency = meter.create_histogram(
            END_TO_END_LATENCY,
            unit="s",
            description="Per batch, its slowest event: commit time minus the event's intended send time",
        )

    def batch_committed(
        self,
        partition_id: str,
        outcome: BatchOutcome,
        duration_seconds: float,
        events: Sequence[IncomingEvent],
    ) -> None:
        if outcome.blob_name is None:
            return  # every event was below the checkpoint: a redelivery that did nothing
        attributes = {"partition_id": partition_id}
        self._events.add(outcome.processed, attributes)
        self._duplicates.add(outcome.duplicates_dropped, attributes)
        for code, count in outcome.failed_by_code.items():
            self._failed.add(count, {"partition_id": partition_id, "error_code": code})
        self._duration.record(duration_seconds, attributes)
        oldest = oldest_intended_ms(events)
        if oldest is not None:
            latency = outcome.committed_at.timestamp() - oldest / 1000
            self._latency.record(max(0.0, latency), attributes)

    def batch_failed(self, partition_id: str, error: BaseException, duration_seconds: float) -> None:
        self._batch_failures.add(1, {"partition_id": partition_id, "error_type": type(error).__name__})


def oldest_intended_ms(events: Sequence[IncomingEvent]) -> int | None:
    """The earliest `intended_ms` property (the simulator's planned send time) in the batch."""
    times = [value for event in events if type(value := event.properties.get("intended_ms")) is int]
    return min(times) if times else None


def telemetry_from_environment(environ: Mapping[str, str] = os.environ) -> PipelineTelemetry | None:
    """Telemetry exported to Application Insights when it is configured; None (no cost) otherwise."""
    connection_string = environ.get(CONNECTION_STRING_VARIABLE, "").strip()
    if not connection_string:
        return None
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry import metrics

    options: dict[str, object] = {}
    # Our Application Insights accepts only Entra ID tokens (local authentication is off in Terraform).
    authentication = dict(
        part.split("=", 1) for part in environ.get(AUTHENTICATION_VARIABLE, "").split(";") if "=" in part
    )
    if authentication.get("Authorization", "").upper() == "AAD":
        from azure.identity import DefaultAzureCredential

        # ClientId names a user-assigned identity; without it the system-assigned one signs in.
        options["credential"] = DefaultAzureCredential(
            managed_identity_client_id=authentication.get("ClientId") or None
        )
    # Metrics only: the Functions host already sends the invocations' requests, traces and logs.
    configure_azure_monitor(
        connection_string=connection_string,
        disable_tracing=True,
        disable_logging=True,
        enable_live_metrics=False,
        enable_performance_counters=False,
        **options,
    )
    return PipelineTelemetry(metrics.get_meter(METER_NAME))

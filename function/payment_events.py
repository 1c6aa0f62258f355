"""The Event Hubs trigger: hands each batch of a partition to the pipeline's processor.

The processor is created on the first batch (not at import) and kept for the worker's life. No event
makes a batch raise: bad events become failed items, and a batch that fails because of its events is
split until the events that fail alone are failed items (ADR 0009). A batch raises only while a
dependency is unavailable; the runtime then runs it again under the retry policy below, indefinitely,
and writes no checkpoint meanwhile, so the partition waits for the dependency and loses nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import azure.functions as func

from paysim_pipeline.processor import BatchProcessor, IncomingEvent

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves __init__ unannotated
logger = logging.getLogger(__name__)


@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%PAYSIM_EVENTHUB_NAME%",
    connection="EventHubConnection",
    consumer_group="%PAYSIM_CONSUMER_GROUP%",
    cardinality="many",
    data_type="binary",
)
# Function-level, where the runtime takes Event Hubs retry policies. A finite count would make the runtime
# checkpoint past a batch it gave up on: every event of it lost. The maximum interval bounds how long a
# partition stays idle after its dependency is back.
@bp.retry(
    strategy="exponential_backoff",
    max_retry_count="-1",
    minimum_interval="00:00:02",
    maximum_interval="00:00:30",
)
def process_payment_events(events: list[func.EventHubEvent]) -> None:
    partition_id, consumer_group = partition_of(events)
    outcome = processor().process(incoming_events(events), partition_id, consumer_group)
    logger.info("partition %s: %s", partition_id, outcome)


@functools.cache
def processor() -> BatchProcessor:
    """The worker's processor, configured by the app settings."""
    return BatchProcessor.from_environment()


def close_processor() -> None:
    """Close the processor's connections; the next batch creates a new one (tests, the local host)."""
    if processor.cache_info().currsize:
        processor().close()
        processor.cache_clear()


def _metadata(events: Sequence[func.EventHubEvent]) -> dict[str, Any]:
    # With cardinality many, every event carries the whole batch's trigger metadata.
    return dict(events[0].metadata or {}) if events else {}


def partition_of(events: Sequence[func.EventHubEvent]) -> tuple[str, str]:
    """(partition id, consumer group) from the trigger's PartitionContext metadata."""
    context = _metadata(events).get("PartitionContext") or {}
    try:
        return str(context["PartitionId"]), str(context["ConsumerGroup"])
    except KeyError as missing:
        raise ValueError(f"the trigger metadata has no PartitionContext.{missing.args[0]}") from None


def incoming_events(events: Sequence[func.EventHubEvent]) -> list[IncomingEvent]:
    """The batch for the processor, each event with its application properties (PropertiesArray)."""
    properties = _metadata(events).get("PropertiesArray") or [{}] * len(events)
    batch = []
    for event, event_properties in zip(events, properties, strict=True):
        if event.sequence_number is None:
            raise ValueError("an event of the batch has no sequence number")
        batch.append(
            IncomingEvent(
                body=event.get_body(),
                sequence_number=event.sequence_number,
                offset=event.offset,
                enqueued_time=event.enqueued_time,
                partition_key=event.partition_key,
                properties=event_properties or {},
            )
        )
    return batch

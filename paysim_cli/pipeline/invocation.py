"""One invocation as the Functions runtime makes it: the batch and its trigger metadata as `Datum`s,
decoded by azure.functions' Event Hub trigger converter, handed to the user's function.

The shapes are those the Functions host sends the Python worker for an Event Hub trigger with
cardinality many and data type binary: the bodies as `collection_bytes`; `SystemPropertiesArray`,
`PropertiesArray`, `PartitionContext` and the per-field arrays as JSON.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from azure.functions.eventhub import EventHubTriggerConverter

from paysim_cli.hub.transport import ReceivedEvent
from paysim_cli.pipeline.loader import HostedFunction

if TYPE_CHECKING:
    from azure.functions.meta import Datum

# The namespace a local partition context names: there is no Event Hubs namespace behind the local log.
LOCAL_NAMESPACE = "localhost"


@dataclass(frozen=True)
class PartitionContext:
    """Which hub, consumer group and partition a batch comes from."""

    event_hub_name: str
    consumer_group: str
    partition_id: str


@dataclass(frozen=True, slots=True)
class _CollectionBytes:
    """What the worker's protobuf `CollectionBytes` offers the converter: a `bytes` list."""

    bytes: list[bytes]


def _json(value: object) -> Datum:
    from azure.functions.meta import Datum

    return Datum(orjson.dumps(value).decode(), "json")


def trigger_data(
    events: Sequence[ReceivedEvent], context: PartitionContext, function_name: str
) -> tuple[Datum, dict[str, Datum]]:
    """The batch's data and trigger metadata, as the worker receives them from the host."""
    from azure.functions.meta import Datum

    system_properties = []
    for event in events:
        # isoformat (+00:00) is one of the UTC forms the converter parses, and the cheapest for it.
        enqueued = event.enqueued_time.isoformat()
        system_properties.append(
            {
                "x-opt-sequence-number": event.sequence_number,
                "x-opt-offset": str(event.offset),
                "x-opt-enqueued-time": enqueued,
                "x-opt-partition-key": event.partition_key,
                "SequenceNumber": event.sequence_number,
                "Offset": event.offset,
                "PartitionKey": event.partition_key,
                "EnqueuedTimeUtc": enqueued,
            }
        )
    metadata = {
        "PartitionContext": _json(
            {
                "FullyQualifiedNamespace": LOCAL_NAMESPACE,
                "EventHubName": context.event_hub_name,
                "ConsumerGroup": context.consumer_group,
                "PartitionId": context.partition_id,
            }
        ),
        "SystemPropertiesArray": _json(system_properties),
        "PropertiesArray": _json([dict(event.properties) for event in events]),
        "PartitionKeyArray": _json([event.partition_key for event in events]),
        "OffsetArray": _json([str(event.offset) for event in events]),
        "SequenceNumberArray": _json([event.sequence_number for event in events]),
        "EnqueuedTimeUtcArray": _json([entry["EnqueuedTimeUtc"] for entry in system_properties]),
        "sys": _json(
            {
                "MethodName": function_name,
                "UtcNow": datetime.now(UTC).isoformat(),
                "RandGuid": str(uuid.uuid4()),
            }
        ),
    }
    data = Datum(_CollectionBytes([event.body for event in events]), "collection_bytes")
    return data, metadata


class _EventHubTriggerConverter(EventHubTriggerConverter, binding=None):
    """azure.functions' Event Hub trigger converter, unregistered, with its time parsing memoised.

    The converter parses every event's EnqueuedTimeUtc with up to a dozen `strptime` formats (~25 us
    an event, a third of a batch's decoding); the events of one publish share one enqueued time, and
    parsing is a pure function of the text, so a cache returns the very same values.
    """

    @classmethod
    @functools.lru_cache(maxsize=4096)
    def _parse_datetime(cls, datetime_str: str | None) -> datetime | None:
        parsed: datetime | None = super()._parse_datetime(datetime_str)
        return parsed


def invoke(function: HostedFunction, events: Sequence[ReceivedEvent], context: PartitionContext) -> Any:
    """Decode the batch into `func.EventHubEvent`s and call the function with them, as the worker does.

    Whatever the function raises propagates: the caller decides about redelivery.
    """
    data, metadata = trigger_data(events, context, function.name)
    batch = _EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
    return function.user_function(**{function.parameter: batch})

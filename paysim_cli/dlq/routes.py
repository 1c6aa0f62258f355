"""The two ways a replay resubmits failed items: through paysim_pipeline here, or back onto the hub.

Each route opens one transaction per batch (`batch()`); the replay locks the batch's items in it,
hands them to `replay`, records the outcomes and commits. Through the processor the items' metrics
are in the same transaction as their new status. Onto the hub the publish is acknowledged before the
status changes: a crash in between leaves the item pending and published, so it may be published
again (at least once); the pipeline's dedupe counts its payment once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, NamedTuple, Protocol
from uuid import UUID

from paysim_cli.dlq.bounds import PUBLISH_STAGE, Route
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.db import Connection
    from paysim_cli.hub.targets import HubTarget
    from paysim_pipeline.config import PipelineConfig
    from paysim_pipeline.replay import EventReplayer, ReplayResult, ReplayTransaction


class LockedItem(NamedTuple):
    """A failed item as a replay reads it under its row lock (store.REPLAY_COLUMNS, in order).

    Named tuples, as ItemOutcome: one of each per replayed item, built in a third of the time a frozen
    dataclass takes."""

    id: int
    status: str
    stage: str
    error_code: str
    error_message: str
    transaction_id: str | None
    run_id: str | None
    source_partition: str | None
    source_sequence_number: int | None
    raw_payload: bytes


class ItemOutcome(NamedTuple):
    """What resubmitting one item did: outcome, and for a failure the new stage, code and message."""

    item: LockedItem
    body: bytes
    outcome: str  # processed | duplicate | failed | published
    stage: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    destination: dict[str, str] | None = None


class RouteBatch(Protocol):
    """One batch's transaction on a route."""

    @property
    def connection(self) -> Connection: ...

    def replay(self, items: Sequence[LockedItem], bodies: Sequence[bytes]) -> list[ItemOutcome]: ...


class ReplayRoute(Protocol):
    route: Route
    destination: dict[str, str] | None

    def batch(self) -> AbstractContextManager[RouteBatch]: ...

    def close(self) -> None: ...


def pipeline_config(settings: Settings) -> PipelineConfig:
    """The processor's configuration as the local host gives the Function app: the app settings from
    `settings` over the environment's PAYSIM_* knobs (PAYSIM_MAX_EVENT_AGE_SECONDS, ...)."""
    from paysim_cli.pipeline.loader import app_settings
    from paysim_pipeline.config import ConfigError, PipelineConfig

    try:
        return PipelineConfig.from_environment(
            {**os.environ, **app_settings(settings, settings.consumer_group)}
        )
    except ConfigError as error:
        raise PaysimError(
            "invalid_pipeline_setting",
            f"the processor cannot be configured: {error}",
            "fix or unset the variable it names; docs/pipeline.md lists the PAYSIM_* app settings",
            exit_code=ExitCode.CONFIG,
        ) from error


def open_checker(settings: Settings) -> EventReplayer:
    """A replayer for dry runs: the processor's stages, and reads of the dedupe table."""
    from paysim_pipeline.replay import EventReplayer

    return EventReplayer(pipeline_config(settings))


def check_items(
    checker: EventReplayer,
    items: Sequence[LockedItem],
    bodies: Sequence[bytes],
    claimed: set[tuple[str, int]],
) -> list[ItemOutcome]:
    """What replaying `items` would do now; writes nothing."""
    from paysim_pipeline.replay import ReplayEvent

    events = [ReplayEvent(item.id, body) for item, body in zip(items, bodies, strict=True)]
    results = checker.check(events, claimed)
    return [_outcome(item, body, result) for item, body, result in zip(items, bodies, results, strict=True)]


class ProcessorRoute:
    """Replays through paysim_pipeline: the Function's stages and sinks, raw events to Blob."""

    route = Route.PROCESSOR
    destination: dict[str, str] | None = None

    def __init__(self, settings: Settings, operation_id: UUID) -> None:
        from paysim_pipeline.replay import EventReplayer

        self._replayer = EventReplayer(pipeline_config(settings))
        self._eventhub = settings.eventhub_name
        self._operation_id = str(operation_id)

    @contextmanager
    def batch(self) -> Iterator[RouteBatch]:
        with self._replayer.transaction() as transaction:
            yield _ProcessorBatch(transaction, self._eventhub, self._operation_id)

    def close(self) -> None:
        self._replayer.close()


class _ProcessorBatch:
    def __init__(self, transaction: ReplayTransaction, eventhub: str, operation_id: str) -> None:
        self._transaction = transaction
        self._eventhub = eventhub
        self._operation_id = operation_id

    @property
    def connection(self) -> Connection:
        return self._transaction.connection

    def replay(self, items: Sequence[LockedItem], bodies: Sequence[bytes]) -> list[ItemOutcome]:
        from paysim_pipeline.replay import ReplayEvent, replay_blob_name

        events = [
            ReplayEvent(item.id, body, _archive_properties(item, self._operation_id))
            for item, body in zip(items, bodies, strict=True)
        ]
        name = replay_blob_name(self._eventhub, self._operation_id, items[0].id, items[-1].id)
        results = self._transaction.replay(events, name)
        return [
            _outcome(item, body, result) for item, body, result in zip(items, bodies, results, strict=True)
        ]


def _archive_properties(item: LockedItem, operation_id: str) -> dict[str, object]:
    """Where a replayed event came from, in its raw-archive envelope."""
    properties: dict[str, object] = {"failed_item_id": item.id, "dlq_operation_id": operation_id}
    if item.source_partition is not None:
        properties["source_partition"] = item.source_partition
        properties["source_sequence_number"] = item.source_sequence_number
    if item.run_id is not None:
        properties["run_id"] = item.run_id
    return properties


def _outcome(item: LockedItem, body: bytes, result: ReplayResult) -> ItemOutcome:
    rejection = result.rejection
    if rejection is None:
        return ItemOutcome(item, body, str(result.outcome))
    return ItemOutcome(
        item,
        body,
        str(result.outcome),
        stage=str(rejection.stage),
        error_code=str(rejection.error_code),
        error_message=rejection.message,
    )


class HubRoute:
    """Republishes to the event hub (the local log, or Azure Event Hubs) for the pipeline to process."""

    route = Route.HUB

    def __init__(self, settings: Settings, operation_id: UUID, target: HubTarget) -> None:
        from paysim_cli.hub.operations import hub_name
        from paysim_cli.hub.routing import PartitionRouter
        from paysim_cli.hub.targets import open_publisher

        self._settings = settings
        self._operation_id = str(operation_id)
        self._publisher = open_publisher(settings, target)
        self._router = PartitionRouter(self._publisher.partition_ids())
        self.destination: dict[str, str] | None = {"target": str(target), "hub": hub_name(settings, target)}
        self._connection: Connection | None = None

    @contextmanager
    def batch(self) -> Iterator[RouteBatch]:
        from paysim_cli.db import connect

        if self._connection is None or self._connection.closed or self._connection.broken:
            self._connection = connect(self._settings, application_name="paysim dlq replay")
        with self._connection.transaction():
            yield _HubBatch(self, self._connection)

    def close(self) -> None:
        self._publisher.close()
        if self._connection is not None:
            self._connection.close()

    def publish(self, items: Sequence[LockedItem], bodies: Sequence[bytes]) -> list[ItemOutcome]:
        """Publish every item that fits an event, each to the partition its transaction id hashes to
        (round-robin without one); returns once the hub acknowledged them all, or raises."""
        from paysim_cli.hub.routing import event_size
        from paysim_cli.hub.transport import MAX_EVENT_BYTES, OutgoingEvent

        outgoing: list[OutgoingEvent] = []
        outcomes: list[ItemOutcome] = []
        for item, body in zip(items, bodies, strict=True):
            properties: dict[str, str | int | float | bool] = {
                "dlq_failed_item_id": item.id,
                "dlq_operation_id": self._operation_id,
            }
            event = OutgoingEvent(body, partition_key=item.transaction_id, properties=properties)
            if (size := event_size(event)) > MAX_EVENT_BYTES:
                outcomes.append(_too_large(item, body, size))
                continue
            partition_id = self._router.route(event)
            outgoing.append(OutgoingEvent(body, partition_id=partition_id, properties=properties))
            outcomes.append(
                ItemOutcome(
                    item,
                    body,
                    "published",
                    destination={**(self.destination or {}), "partition_id": partition_id},
                )
            )
        if outgoing:
            self._publisher.publish(outgoing)
        return outcomes


class _HubBatch:
    def __init__(self, route: HubRoute, connection: Connection) -> None:
        self._route = route
        self._connection = connection

    @property
    def connection(self) -> Connection:
        return self._connection

    def replay(self, items: Sequence[LockedItem], bodies: Sequence[bytes]) -> list[ItemOutcome]:
        return self._route.publish(items, bodies)


def _too_large(item: LockedItem, body: bytes, size: int) -> ItemOutcome:
    from paysim_cli.hub.transport import MAX_EVENT_BYTES
    from paysim_pipeline.rejection import ErrorCode

    return ItemOutcome(
        item,
        body,
        "failed",
        stage=PUBLISH_STAGE,
        error_code=str(ErrorCode.EVENT_TOO_LARGE),
        error_message=f"{size} bytes with its properties, over the hub's {MAX_EVENT_BYTES} per event",
    )

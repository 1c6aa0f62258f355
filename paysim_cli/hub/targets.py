"""Opens a publisher or a consumer on the chosen hub: the local event log or Azure Event Hubs."""

from __future__ import annotations

import logging
from enum import StrEnum

from paysim_cli.hub.transport import EARLIEST, EventConsumer, EventPosition, EventPublisher
from paysim_cli.settings import Settings

logger = logging.getLogger(__name__)


class HubTarget(StrEnum):
    LOCAL = "local"
    EVENTHUB = "eventhub"


def default_transport(settings: Settings) -> HubTarget:
    """The local event log for `--env local`; Event Hubs everywhere else, so that a command aimed at
    another environment never reads or feeds the local log by accident."""
    return HubTarget.LOCAL if settings.is_local else HubTarget.EVENTHUB


def open_publisher(settings: Settings, target: HubTarget = HubTarget.LOCAL) -> EventPublisher:
    """A publisher on the local log at `settings.event_log_path`, or on the configured event hub."""
    logger.info("publishing to the %s hub", target)
    if target is HubTarget.EVENTHUB:
        from paysim_cli.hub.eventhubs import open_eventhubs_publisher

        return open_eventhubs_publisher(settings)
    from paysim_cli.hub.local_log import LocalEventLog
    from paysim_cli.hub.local_transport import LocalEventPublisher

    return LocalEventPublisher(LocalEventLog.open(settings.event_log_path))


def open_consumer(
    settings: Settings,
    target: HubTarget = HubTarget.LOCAL,
    *,
    consumer_group: str | None = None,
    starting_position: EventPosition = EARLIEST,
    resume_from_checkpoint: bool = True,
) -> EventConsumer:
    """A consumer in `consumer_group` (default: the settings'), starting where its checkpoints say.

    Partitions without a checkpoint, or every partition when `resume_from_checkpoint` is false (peeking),
    start at `starting_position`.
    """
    group = consumer_group or settings.consumer_group
    logger.info("reading the %s hub as consumer group %s", target, group)
    if target is HubTarget.EVENTHUB:
        from paysim_cli.hub.eventhubs import open_eventhubs_consumer

        return open_eventhubs_consumer(settings, group, starting_position)
    from paysim_cli.hub.local_log import LocalEventLog
    from paysim_cli.hub.local_transport import LocalEventConsumer

    return LocalEventConsumer(
        LocalEventLog.open(settings.event_log_path),
        group,
        starting_position,
        resume_from_checkpoint=resume_from_checkpoint,
    )

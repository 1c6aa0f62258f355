"""What `paysim hub info | send | peek` do, on either hub, as plain functions returning dataclasses."""

from __future__ import annotations

import sys
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.lag import partition_lag
from paysim_cli.hub.routing import event_size, event_too_large
from paysim_cli.hub.targets import HubTarget, open_consumer, open_publisher
from paysim_cli.hub.transport import MAX_EVENT_BYTES, EventPosition, OutgoingEvent, PositionKind
from paysim_cli.settings import Settings

SEND_CHUNK_LINES = 500


@dataclass(frozen=True)
class PartitionReport:
    partition_id: str
    beginning_sequence_number: int
    last_enqueued_sequence_number: int
    last_enqueued_offset: int
    last_enqueued_time: datetime | None
    is_empty: bool
    checkpoint_sequence_number: int | None
    lag: int | None


@dataclass(frozen=True)
class HubReport:
    target: HubTarget
    hub: str
    consumer_group: str
    partitions: list[PartitionReport]
    total_lag: int | None


@dataclass(frozen=True)
class SendReport:
    target: HubTarget
    hub: str
    file: str
    events: int
    batches: int
    by_partition: dict[str, int]


@dataclass(frozen=True)
class PeekedEvent:
    partition_id: str
    sequence_number: int
    offset: int
    enqueued_time: datetime
    partition_key: str | None
    properties: dict[str, str | int | float | bool]
    body: str
    body_bytes: int


@dataclass(frozen=True)
class PeekReport:
    target: HubTarget
    hub: str
    position: str
    events: list[PeekedEvent]


def hub_name(settings: Settings, target: HubTarget) -> str:
    """The hub a target means, for people: the log file, or namespace/hub."""
    if target is HubTarget.LOCAL:
        return str(settings.event_log_path)
    from paysim_cli.hub.eventhubs import hub_address

    return hub_address(settings)


def describe_hub(settings: Settings, target: HubTarget, consumer_group: str | None = None) -> HubReport:
    """Partitions, the sequence ranges they hold, and the consumer group's checkpoint and lag in each.

    Lag is the events after the group's checkpoint (all held events when it has none). Only the local
    log stores checkpoints; for Event Hubs they live with the pipeline, so lag is not known here.
    """
    group = consumer_group or settings.consumer_group
    partitions = []
    with closing(open_consumer(settings, target, consumer_group=group)) as consumer:
        for partition_id in consumer.partition_ids():
            info = consumer.partition_info(partition_id)
            checkpoint = consumer.checkpointed_sequence_number(partition_id)
            lag = partition_lag(info, checkpoint) if target is HubTarget.LOCAL else None
            partitions.append(PartitionReport(**asdict(info), checkpoint_sequence_number=checkpoint, lag=lag))
    total_lag = sum(partition.lag or 0 for partition in partitions) if target is HubTarget.LOCAL else None
    return HubReport(target, hub_name(settings, target), group, partitions, total_lag)


def _open_input(path: Path) -> IO[bytes]:
    if str(path) == "-":
        return sys.stdin.buffer
    try:
        return path.open("rb")
    except OSError as error:
        raise PaysimError(
            "file_unreadable",
            f"cannot read {path}: {error.strerror}",
            "check the path, or give - to read standard input",
            exit_code=ExitCode.CONFIG,
        ) from error


def send_file(
    settings: Settings,
    target: HubTarget,
    path: Path,
    *,
    partition_key: str | None = None,
    partition_id: str | None = None,
) -> SendReport:
    """Publish every line of `path` as one event, in order, 500 lines per publish call."""
    if partition_key is not None and partition_id is not None:
        raise PaysimError(
            "conflicting_options",
            "--partition-key and --partition both choose the partition",
            "give one of them, or neither for round-robin",
            exit_code=ExitCode.USAGE,
        )
    events = batches = 0
    by_partition: dict[str, int] = {}
    with _open_input(path) as stream, closing(open_publisher(settings, target)) as publisher:
        # Lines without their newline, byte for byte otherwise (a \r stays).
        lines = (line[:-1] if line.endswith(b"\n") else line for line in stream)
        while chunk := list(islice(lines, SEND_CHUNK_LINES)):
            outgoing = [OutgoingEvent(body, partition_key, partition_id) for body in chunk]
            for line_number, event in enumerate(outgoing, start=events + 1):
                if (size := event_size(event)) > MAX_EVENT_BYTES:
                    raise event_too_large(size, subject=f"line {line_number} ({events} sent before it)")
            result = publisher.publish(outgoing)
            events += result.events
            batches += result.batches
            for partition, count in result.by_partition.items():
                by_partition[partition] = by_partition.get(partition, 0) + count
    return SendReport(
        target, hub_name(settings, target), str(path), events, batches, dict(sorted(by_partition.items()))
    )


def peek_events(
    settings: Settings,
    target: HubTarget,
    *,
    position: EventPosition,
    partition_ids: list[str] | None = None,
    max_events: int = 10,
    wait_seconds: float = 1.0,
    consumer_group: str | None = None,
) -> PeekReport:
    """Up to `max_events` events from each partition, from `position`, ignoring checkpoints.

    A partition is read until it yields nothing for `wait_seconds`, or, unless reading from the end,
    until the last event it held when peeking began.
    """
    peeked: list[PeekedEvent] = []
    with closing(
        open_consumer(
            settings,
            target,
            consumer_group=consumer_group,
            starting_position=position,
            resume_from_checkpoint=False,
        )
    ) as consumer:
        for partition_id in partition_ids or consumer.partition_ids():
            info = consumer.partition_info(partition_id)
            if info.is_empty and position.kind is PositionKind.START:
                continue
            taken = 0
            while taken < max_events:
                events = consumer.receive(
                    partition_id, max_events=max_events - taken, max_wait_seconds=wait_seconds
                )
                taken += len(events)
                peeked.extend(
                    PeekedEvent(
                        partition_id=event.partition_id,
                        sequence_number=event.sequence_number,
                        offset=event.offset,
                        enqueued_time=event.enqueued_time,
                        partition_key=event.partition_key,
                        properties=dict(event.properties),
                        body=event.body.decode("utf-8", errors="replace"),
                        body_bytes=len(event.body),
                    )
                    for event in events
                )
                caught_up = events and events[-1].sequence_number >= info.last_enqueued_sequence_number
                if not events or (caught_up and position.kind is not PositionKind.END):
                    break
    return PeekReport(target, hub_name(settings, target), str(position), peeked)

"""The raw-events archive against what the pipeline committed: gaps found, and re-archived from the hub.

The pipeline writes each batch as one blob named by partition and sequence range before the batch's
transaction commits (docs/pipeline.md). So the blob names of a consumer group's partition must cover
every sequence number from the first the pipeline processed up to its checkpoint in PostgreSQL
(`partition_checkpoints`). A hole is a gap: blobs the storage lost after it had acknowledged them (a
killed Azurite forgets its last seconds of writes), or that someone deleted. Where a partition's
committed range starts is not recorded: the pipeline starts a partition at the oldest event the hub holds,
so the check starts at the lower of that and the archive's first blob. `--deep` also downloads each blob
and checks it holds its range. A repair reads a gap's events back from the hub, while the hub retains
them, and writes them as the pipeline writes a batch.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from paysim_cli.blob import blob_failure, container_client
from paysim_cli.db import connect
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget, open_consumer
from paysim_cli.hub.transport import EventPosition, PositionKind, ReceivedEvent
from paysim_cli.settings import Settings
from paysim_pipeline.config import MAX_EVENT_BYTES
from paysim_pipeline.decode import decode_bodies
from paysim_pipeline.events import IncomingEvent
from paysim_pipeline.rejection import UNDECODABLE
from paysim_pipeline.sinks.blob import (
    blob_name,
    blob_prefix,
    decode_raw_events,
    encode_raw_events,
    sequence_range,
)

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

REPAIR_BLOB_EVENTS = 500  # events per blob a repair writes (the host's default batch size)
HUB_WAIT_SECONDS = 5.0  # for the next events of a gap, before deciding the hub no longer has them
# Between the simulator's clock and the storage's: blobs older than a run's start minus this hold none
# of its events.
CLOCK_MARGIN = timedelta(minutes=5)
# A blob that cannot be read back (damaged, truncated): its range counts as missing.
_UNREADABLE = (OSError, EOFError, ValueError, zlib.error)


class SequenceRange(BaseModel):
    """Sequence numbers first..last of one partition, both included."""

    model_config = ConfigDict(frozen=True)

    first: int
    last: int

    @property
    def events(self) -> int:
        return self.last - self.first + 1


class ArchiveScope(BaseModel):
    """Which part of the archive to check or repair."""

    model_config = ConfigDict(frozen=True)

    source: HubTarget = HubTarget.LOCAL
    consumer_group: str | None = None  # default: the consumer_group setting
    partition_ids: tuple[str, ...] = ()  # default: every partition of the hub
    from_sequence: int | None = Field(None, ge=0)
    to_sequence: int | None = Field(None, ge=0)
    deep: bool = False  # download every blob in range and check it holds its range


class PartitionArchive(BaseModel):
    """One partition: what the pipeline committed, what the archive covers, what is missing."""

    partition_id: str
    checkpoint: int | None  # the last sequence number the pipeline committed; None: nothing yet
    checked: SequenceRange | None  # what the archive must cover (within the scope)
    hub_first: int | None  # the oldest sequence number the hub still holds; None: it holds none
    blobs: int
    gaps: list[SequenceRange]
    unrepairable: list[SequenceRange]  # parts of gaps the hub no longer holds
    unreadable_blobs: list[str]

    @property
    def missing_events(self) -> int:
        return sum(gap.events for gap in self.gaps)


class ArchiveReport(BaseModel):
    source: HubTarget
    eventhub: str
    consumer_group: str
    container: str
    deep: bool
    complete: bool
    missing_events: int
    unrepairable_events: int
    partitions: list[PartitionArchive]

    def failure(self, report: BaseModel | None = None) -> ArchiveIncomplete | None:
        """The error to exit with when the archive has gaps, carrying `report` (default: this one)."""
        return None if self.complete else ArchiveIncomplete(self, report or self)


class ArchiveIncomplete(PaysimError):
    """Exit 7 with the whole report in the JSON error, as `paysim verify` does."""

    def __init__(self, archive: ArchiveReport, report: BaseModel) -> None:
        gaps = [
            f"partition {partition.partition_id} {gap.first}..{gap.last}"
            for partition in archive.partitions
            for gap in partition.gaps
        ]
        shown = ", ".join(gaps[:3]) + (f" and {len(gaps) - 3} more" if len(gaps) > 3 else "")
        hint = "`paysim archive repair` re-archives the gaps from the hub while it retains them"
        if archive.unrepairable_events:
            hint += f"; {archive.unrepairable_events:,} of the events are no longer in the hub"
        super().__init__(
            "archive_incomplete",
            f"the raw-events archive misses {archive.missing_events:,} committed events: {shown}",
            hint,
            exit_code=ExitCode.VERIFY_FAILED,
            report=report,
        )


class RepairedRange(BaseModel):
    partition_id: str
    first: int
    last: int
    blob_name: str


class RepairReport(BaseModel):
    before: ArchiveReport
    repaired: list[RepairedRange]
    events_archived: int
    deleted_unreadable_blobs: list[str]
    after: ArchiveReport

    def failure(self) -> ArchiveIncomplete | None:
        return self.after.failure(self)


def check_archive(settings: Settings, scope: ArchiveScope | None = None) -> ArchiveReport:
    """Compare the archive with the pipeline's checkpoints, partition by partition; lists every gap."""
    scope = scope or ArchiveScope()
    group = scope.consumer_group or settings.consumer_group
    committed = _committed(settings, group)
    hub_first = _hub_first(settings, scope, group)
    with container_client(settings, settings.raw_events_container) as container:
        archived = _archived(container, blob_prefix(settings.eventhub_name, group), scope.deep, committed)
    partitions = [
        _partition_archive(
            partition_id, committed.get(partition_id), first, archived.get(partition_id), scope
        )
        for partition_id, first in hub_first.items()
    ]
    missing = sum(partition.missing_events for partition in partitions)
    return ArchiveReport(
        source=scope.source,
        eventhub=settings.eventhub_name,
        consumer_group=group,
        container=settings.raw_events_container,
        deep=scope.deep,
        complete=missing == 0,
        missing_events=missing,
        unrepairable_events=sum(gap.events for partition in partitions for gap in partition.unrepairable),
        partitions=partitions,
    )


def repair_archive(settings: Settings, scope: ArchiveScope | None = None) -> RepairReport:
    """Check, re-archive every gap the hub still holds, check again."""
    scope = scope or ArchiveScope()
    before = check_archive(settings, scope)
    repaired: list[RepairedRange] = []
    deleted: list[str] = []
    with container_client(settings, settings.raw_events_container) as container, _blob_errors("repairing"):
        for partition in before.partitions:
            # An unreadable blob's range is a gap, archived again below, maybe under the same name: it
            # goes first, unless the hub no longer holds its events (then it is all there is).
            for name in partition.unreadable_blobs:
                numbers = sequence_range(name)
                if (
                    numbers is not None
                    and partition.hub_first is not None
                    and numbers[0] >= partition.hub_first
                ):
                    container.delete_blob(name)
                    deleted.append(name)
            for gap in _repairable(partition):
                repaired += _rearchive(settings, scope.source, container, before, partition.partition_id, gap)
    return RepairReport(
        before=before,
        repaired=repaired,
        events_archived=sum(item.last - item.first + 1 for item in repaired),
        deleted_unreadable_blobs=deleted,
        after=check_archive(settings, scope),
    )


@dataclass
class ArchivedRun:
    """A run's events found in the archive (each (partition, sequence number) once)."""

    events: int = 0
    unreadable_blobs: list[str] = field(default_factory=list)


def archived_run_events(
    settings: Settings, run_id: str, started_at: datetime, consumer_group: str | None = None
) -> ArchivedRun:
    """Count the archived events whose `run_id` property is `run_id`, in the blobs written since the
    run started (with a margin for the clocks)."""
    group = consumer_group or settings.consumer_group
    seen: set[tuple[object, object]] = set()
    found = ArchivedRun()
    with container_client(settings, settings.raw_events_container) as container, _blob_errors("reading"):
        for name in _names_since(container, blob_prefix(settings.eventhub_name, group), started_at):
            envelopes = _read(container, name)
            if envelopes is None:
                found.unreadable_blobs.append(name)
                continue
            for envelope in envelopes:
                properties = envelope.get("properties")
                if isinstance(properties, dict) and properties.get("run_id") == run_id:
                    seen.add((envelope.get("partition_id"), envelope.get("sequence_number")))
    found.events = len(seen)
    return found


def _committed(settings: Settings, group: str) -> dict[str, int]:
    """The pipeline's checkpoint per partition of the group: everything up to it is committed."""
    import psycopg

    try:
        with connect(settings, autocommit=True, application_name="paysim archive") as conn:
            rows = conn.execute(
                "SELECT partition_id, last_sequence_number FROM partition_checkpoints"
                " WHERE consumer_group = %s",
                (group,),
            ).fetchall()
    except psycopg.errors.UndefinedTable as error:
        raise PaysimError(
            "schema_not_migrated",
            f"the database has no checkpoints table: {error.diag.message_primary}",
            "run `paysim db migrate`",
            exit_code=ExitCode.CONFIG,
        ) from error
    return {str(partition_id): int(last) for partition_id, last in rows}


def _hub_first(settings: Settings, scope: ArchiveScope, group: str) -> dict[str, int | None]:
    """Each partition in scope, with the oldest sequence number the hub holds (None when it holds none)."""
    with closing(open_consumer(settings, scope.source, consumer_group=group)) as hub:
        partition_ids = hub.partition_ids()
        unknown = sorted(set(scope.partition_ids) - set(partition_ids))
        if unknown:
            raise PaysimError(
                "partition_not_found",
                f"the hub has no partition {', '.join(unknown)}",
                f"its partitions: {', '.join(partition_ids)}",
                exit_code=ExitCode.USAGE,
            )
        chosen = [partition_id for partition_id in partition_ids if partition_id in scope.partition_ids]
        result: dict[str, int | None] = {}
        for partition_id in chosen or partition_ids:
            info = hub.partition_info(partition_id)
            result[partition_id] = None if info.is_empty else info.beginning_sequence_number
    return result


@dataclass
class _Archived:
    """What one partition's blobs cover."""

    ranges: list[tuple[int, int]] = field(default_factory=list)
    blobs: int = 0
    unreadable: list[str] = field(default_factory=list)


def _archived(
    container: ContainerClient, prefix: str, deep: bool, committed: dict[str, int]
) -> dict[str, _Archived]:
    """Per partition, the sequence ranges the blobs under `prefix` hold: by name, or (deep) by content
    for the blobs at or below the partition's checkpoint."""
    from azure.core.exceptions import ResourceNotFoundError

    archived: dict[str, _Archived] = {}
    with _blob_errors("listing"):
        try:
            names = [blob.name for blob in container.list_blobs(name_starts_with=prefix)]
        except ResourceNotFoundError:
            return archived  # no container: nothing archived yet
        for name in names:
            folder, numbers = name[len(prefix) :].partition("/")[0], sequence_range(name)
            if not folder.startswith("partition=") or numbers is None:
                continue  # not a raw-event blob
            partition = archived.setdefault(folder.removeprefix("partition="), _Archived())
            partition.blobs += 1
            checkpoint = committed.get(folder.removeprefix("partition="))
            if not deep or checkpoint is None or numbers[0] > checkpoint:
                partition.ranges.append(numbers)
                continue
            envelopes = _read(container, name)
            if envelopes is None:
                partition.unreadable.append(name)
            else:
                partition.ranges += _runs(sorted(int(str(item["sequence_number"])) for item in envelopes))
    return archived


def _read(container: ContainerClient, name: str) -> list[dict[str, object]] | None:
    """The blob's envelopes, or None when it cannot be read back."""
    from azure.core.exceptions import HttpResponseError

    try:
        return list(decode_raw_events(container.download_blob(name).readall()))
    except HttpResponseError:
        return None  # the storage answered, without the blob's bytes
    except _UNREADABLE:
        return None


def _names_since(container: ContainerClient, prefix: str, started_at: datetime) -> Iterator[str]:
    from azure.core.exceptions import ResourceNotFoundError

    with contextlib.suppress(ResourceNotFoundError):  # no container: nothing archived
        for blob in container.list_blobs(name_starts_with=prefix):
            if blob.last_modified >= started_at - CLOCK_MARGIN:
                yield blob.name


def _runs(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted sequence numbers as contiguous (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and number <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(runs[-1][1], number))
        else:
            runs.append((number, number))
    return runs


def _partition_archive(
    partition_id: str,
    checkpoint: int | None,
    hub_first: int | None,
    archived: _Archived | None,
    scope: ArchiveScope,
) -> PartitionArchive:
    archived = archived or _Archived()
    checked = _checked_range(checkpoint, hub_first, archived.ranges, scope)
    gaps = [] if checked is None else _gaps(checked, archived.ranges)
    return PartitionArchive(
        partition_id=partition_id,
        checkpoint=checkpoint,
        checked=checked,
        hub_first=hub_first,
        blobs=archived.blobs,
        gaps=gaps,
        unrepairable=[
            SequenceRange(
                first=gap.first, last=gap.last if hub_first is None else min(gap.last, hub_first - 1)
            )
            for gap in gaps
            if hub_first is None or gap.first < hub_first
        ],
        unreadable_blobs=archived.unreadable,
    )


def _checked_range(
    checkpoint: int | None, hub_first: int | None, ranges: list[tuple[int, int]], scope: ArchiveScope
) -> SequenceRange | None:
    """From where the pipeline started the partition (see the module's docstring) to its checkpoint."""
    if checkpoint is None:
        return None
    starts = [first for first, _ in ranges] + ([] if hub_first is None else [hub_first])
    first = max(min(starts, default=0), scope.from_sequence or 0)
    last = checkpoint if scope.to_sequence is None else min(checkpoint, scope.to_sequence)
    return SequenceRange(first=first, last=last) if first <= last else None


def _gaps(checked: SequenceRange, ranges: list[tuple[int, int]]) -> list[SequenceRange]:
    """The parts of `checked` no range covers."""
    gaps: list[SequenceRange] = []
    cursor = checked.first
    for first, last in sorted(ranges):
        if cursor > checked.last:
            break
        if last < cursor:
            continue
        if first > cursor:
            gaps.append(SequenceRange(first=cursor, last=min(first - 1, checked.last)))
        cursor = max(cursor, last + 1)
    if cursor <= checked.last:
        gaps.append(SequenceRange(first=cursor, last=checked.last))
    return gaps


def _repairable(partition: PartitionArchive) -> list[SequenceRange]:
    """The parts of the partition's gaps the hub still holds."""
    if partition.hub_first is None:
        return []
    return [
        SequenceRange(first=max(gap.first, partition.hub_first), last=gap.last)
        for gap in partition.gaps
        if gap.last >= partition.hub_first
    ]


def _rearchive(
    settings: Settings,
    source: HubTarget,
    container: ContainerClient,
    report: ArchiveReport,
    partition_id: str,
    gap: SequenceRange,
) -> list[RepairedRange]:
    """Read the gap's events from the hub and write them in blobs of up to REPAIR_BLOB_EVENTS."""
    repaired = []
    position = EventPosition(PositionKind.SEQUENCE, sequence_number=gap.first)
    with closing(
        open_consumer(
            settings,
            source,
            consumer_group=report.consumer_group,
            starting_position=position,
            resume_from_checkpoint=False,
        )
    ) as hub:
        next_number = gap.first
        while next_number <= gap.last:
            wanted = min(REPAIR_BLOB_EVENTS, gap.last - next_number + 1)
            events = [
                event
                for event in hub.receive(partition_id, max_events=wanted, max_wait_seconds=HUB_WAIT_SECONDS)
                if event.sequence_number <= gap.last
            ]
            if not events:
                break  # gone from the hub since the check: the check after the repair reports it
            for run in _contiguous(events):
                name = blob_name(
                    report.eventhub,
                    report.consumer_group,
                    partition_id,
                    run[0].sequence_number,
                    run[-1].sequence_number,
                )
                container.upload_blob(name, _encoded(run, partition_id), overwrite=True)
                repaired.append(
                    RepairedRange(
                        partition_id=partition_id,
                        first=run[0].sequence_number,
                        last=run[-1].sequence_number,
                        blob_name=name,
                    )
                )
            next_number = events[-1].sequence_number + 1
    return repaired


def _contiguous(events: list[ReceivedEvent]) -> Iterator[list[ReceivedEvent]]:
    """The events in runs of consecutive sequence numbers: a blob's name promises its whole range."""
    run = [events[0]]
    for event in events[1:]:
        if event.sequence_number != run[-1].sequence_number + 1:
            yield run
            run = []
        run.append(event)
    yield run


def _encoded(events: list[ReceivedEvent], partition_id: str) -> bytes:
    """The blob the pipeline would have written for these events (bodies that are not JSON in base64)."""
    bodies = [event.body for event in events]
    _, _, rejections = decode_bodies(bodies, MAX_EVENT_BYTES)
    undecodable = {rejection.position for rejection in rejections if rejection.error_code in UNDECODABLE}
    incoming = [
        IncomingEvent(
            body=event.body,
            sequence_number=event.sequence_number,
            offset=event.offset,
            enqueued_time=event.enqueued_time,
            partition_key=event.partition_key,
            properties=event.properties,
        )
        for event in events
    ]
    return encode_raw_events(incoming, partition_id, undecodable)


@contextlib.contextmanager
def _blob_errors(doing: str) -> Iterator[None]:
    """The archive's storage unreachable is `blob_unavailable` (exit 4); refusing, `blob_auth_failed` (9)."""
    from azure.core.exceptions import AzureError

    try:
        yield
    except AzureError as error:
        raise blob_failure(error, f"the raw-events archive (while {doing})") from error

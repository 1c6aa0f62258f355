"""What `paysim dlq` takes and returns: filters and requests that own their bounds, and the reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from paysim_cli.dlq.bounds import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PAGE,
    DEFAULT_WORKERS,
    DURATION,
    KNOWN_CODES,
    KNOWN_STAGES,
    MAX_BATCH_SIZE,
    MAX_IDS,
    MAX_PAGE,
    MAX_RATE,
    MAX_REASON_CHARS,
    MAX_WORKERS,
    ItemStatus,
    Route,
    parse_duration,
)
from paysim_cli.hub.targets import HubTarget


class ItemFilter(BaseModel):
    """Which failed items a verb acts on; every condition must hold. `status` None means any."""

    model_config = ConfigDict(frozen=True)

    status: ItemStatus | None = ItemStatus.PENDING
    codes: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    partitions: tuple[str, ...] = ()
    transaction_id: UUID | None = None
    run_id: str | None = None
    ids: tuple[int, ...] = Field((), max_length=MAX_IDS)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _relative_time(cls, value: object) -> object:
        """A duration (`2h`, `7d`) means that long ago; anything else is parsed as RFC 3339."""
        if isinstance(value, str) and DURATION.match(value.strip()):
            return datetime.now(UTC) - parse_duration(value)
        return value

    @field_validator("since", "until")
    @classmethod
    def _utc_when_naive(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @field_validator("codes")
    @classmethod
    def _known_codes(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        return _known(codes, KNOWN_CODES, "error code")

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, stages: tuple[str, ...]) -> tuple[str, ...]:
        return _known(stages, KNOWN_STAGES, "stage")

    @field_validator("ids")
    @classmethod
    def _positive_ids(cls, ids: tuple[int, ...]) -> tuple[int, ...]:
        if any(item_id < 1 for item_id in ids):
            raise ValueError("failed item ids start at 1")
        return tuple(dict.fromkeys(ids))

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and since >= until:
            raise ValueError(f"must be later than --since ({since.isoformat()})")
        return until


def _known(values: tuple[str, ...], known: tuple[str, ...], what: str) -> tuple[str, ...]:
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    return tuple(dict.fromkeys(values))


class ListRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    filter: ItemFilter = ItemFilter()
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    after_id: int | None = Field(None, ge=1)  # newest first: the page continues below this id


class ReplayRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    filter: ItemFilter = ItemFilter()
    via: Route = Route.PROCESSOR
    transport: HubTarget | None = None  # --via hub: default, the environment's (default_transport)
    dry_run: bool = False
    rate: float | None = Field(None, gt=0, le=MAX_RATE)  # items per second
    limit: int | None = Field(None, ge=1)
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1, le=MAX_BATCH_SIZE)
    workers: int = Field(DEFAULT_WORKERS, ge=1, le=MAX_WORKERS)  # batches in flight at once
    confirmed: bool = False

    @field_validator("filter")
    @classmethod
    def _replayable(cls, item_filter: ItemFilter) -> ItemFilter:
        if item_filter.status is not ItemStatus.PENDING and item_filter.status is not ItemStatus.DISCARDED:
            raise ValueError("only pending or discarded items can be replayed; replayed ones are counted")
        return item_filter


class DiscardRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    filter: ItemFilter = ItemFilter()
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    confirmed: bool = False

    @field_validator("filter")
    @classmethod
    def _pending_only(cls, item_filter: ItemFilter) -> ItemFilter:
        if item_filter.status is not ItemStatus.PENDING:
            raise ValueError("only pending items can be discarded")
        return item_filter

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("the reason must say why")
        return reason.strip()


class PurgeRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    older_than: timedelta
    status: ItemStatus = ItemStatus.DISCARDED
    confirmed: bool = False

    @field_validator("older_than", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("status")
    @classmethod
    def _resolved_only(cls, status: ItemStatus) -> ItemStatus:
        if status is ItemStatus.PENDING:
            raise ValueError("pending items are never purged: replay or discard them first")
        return status


class ExportRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    filter: ItemFilter = ItemFilter()
    output: Path
    overwrite: bool = False


class ItemSummary(BaseModel):
    """One failed item as `dlq list` shows it."""

    id: int
    status: ItemStatus
    stage: str
    error_code: str
    error_message: str
    transaction_id: str | None
    source_partition: str | None
    source_sequence_number: int | None
    run_id: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    payload_bytes: int


class ListReport(BaseModel):
    items: list[ItemSummary]
    next_after_id: int | None  # pass as --after-id for the next page; None on the last page


class Payload(BaseModel):
    """A payload shown safely: its UTF-8 text when it decodes, else its bytes in base64."""

    bytes: int
    sha256: str
    encoding: Literal["utf-8", "base64"]
    content: str


class HistoryEntry(BaseModel):
    """One replay or discard of an item, from failed_item_history."""

    acted_at: datetime
    operation_id: UUID
    action: Literal["replay", "discard"]
    route: Route | None
    outcome: Literal["processed", "duplicate", "failed", "published", "discarded"]
    status_before: ItemStatus
    status_after: ItemStatus
    actor: str
    actor_kind: Literal["os_user", "entra"]
    stage: str | None
    error_code: str | None
    error_message: str | None
    replaced_error_code: str | None
    replaced_error_message: str | None
    reason: str | None
    edited_payload: Payload | None
    destination: dict[str, str] | None


class ItemDetail(ItemSummary):
    """Every column of a failed item, its payload and its history (the first attempt is `created_at`)."""

    source_offset: str | None
    source_enqueued_time: datetime | None
    payload: Payload
    history: list[HistoryEntry]


class CodeCount(BaseModel):
    stage: str
    error_code: str
    pending: int = 0
    replayed: int = 0
    discarded: int = 0


class HourCount(BaseModel):
    hour: datetime
    failed: int


class OldestPending(BaseModel):
    id: int
    created_at: datetime
    age_seconds: float


class StatsReport(BaseModel):
    total: int
    by_status: dict[ItemStatus, int]
    by_code: list[CodeCount]
    oldest_pending: OldestPending | None
    last_day: list[HourCount]  # failed items created per hour, the last 24 hours, oldest first


class FailureReason(BaseModel):
    """Items that failed (or would fail) again with one code, and one of their messages."""

    error_code: str
    items: int
    example: str


class CodeOutcome(BaseModel):
    """What a replay did (or a dry run would do) to the items of one error code."""

    error_code: str
    items: int = 0
    processed: int = 0
    duplicates: int = 0
    published: int = 0
    failed: int = 0
    failures: list[FailureReason] = []


class ReplayReport(BaseModel):
    operation_id: UUID | None  # None for a dry run: nothing was recorded
    route: Route
    dry_run: bool
    matched: int  # items the filters selected when the replay started (at most --limit)
    attempted: int
    processed: int  # now in the metrics (or, in a dry run: would be)
    duplicates: int  # their payment was already counted: marked replayed, counted once
    published: int  # --via hub: on the hub, acknowledged
    failed: int  # failed again: still pending (or discarded), attempts + 1
    skipped: int  # matched but gone when reached: replayed or locked by another replay meanwhile
    batches: int
    elapsed_seconds: float
    items_per_second: float
    interrupted_by: str | None  # SIGINT or SIGTERM when a signal stopped it after a batch
    by_code: list[CodeOutcome]
    destination: dict[str, str] | None = None  # --via hub: target and hub


class DiscardReport(BaseModel):
    operation_id: UUID
    discarded: int
    reason: str


class PurgeReport(BaseModel):
    status: ItemStatus
    cutoff: datetime  # items last changed before this were deleted
    deleted: int
    history_deleted: int


class ExportReport(BaseModel):
    output: Path
    items: int
    bytes: int

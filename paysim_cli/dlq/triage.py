"""`paysim dlq list | show | stats` as services: read failed items, their history and their counts."""

from __future__ import annotations

from typing import Any

from paysim_cli.dlq import store
from paysim_cli.dlq.bounds import ItemStatus
from paysim_cli.dlq.models import (
    CodeCount,
    HistoryEntry,
    HourCount,
    ItemDetail,
    ItemSummary,
    ListReport,
    ListRequest,
    OldestPending,
    StatsReport,
)
from paysim_cli.dlq.payload import payload_view
from paysim_cli.settings import Settings

_SUMMARY_FIELDS = tuple(ItemSummary.model_fields)


def summary(row: tuple[Any, ...]) -> ItemSummary:
    """An ItemSummary from the first columns of a row selected with store.SUMMARY_COLUMNS."""
    return ItemSummary.model_validate(dict(zip(_SUMMARY_FIELDS, row, strict=False)))


def list_failed_items(settings: Settings, request: ListRequest) -> ListReport:
    """One page of matching items, newest first; `next_after_id` continues it."""
    where, params = store.conditions(request.filter)
    with store.dlq_connection(settings, "list") as conn:
        store.require_items(conn, request.filter.ids)
        rows = conn.execute(
            store.list_query(where, any_status=request.filter.status is None),
            {**params, "after_id": request.after_id, "limit": request.limit},
        ).fetchall()
    items = [summary(row) for row in rows]
    full_page = len(items) == request.limit
    return ListReport(items=items, next_after_id=items[-1].id if full_page else None)


def show_failed_item(settings: Settings, item_id: int) -> ItemDetail:
    """Every column of item `item_id`, its payload and its replay and discard history."""
    with store.dlq_connection(settings, "show") as conn:
        row = conn.execute(store.item_query(), (item_id,)).fetchone()
        if row is None:
            raise store.items_not_found([item_id])
        history = conn.execute(store.HISTORY, (item_id,)).fetchall()
    base = summary(row)
    offset, enqueued, raw = row[len(_SUMMARY_FIELDS) :]
    return ItemDetail(
        **base.model_dump(),
        source_offset=offset,
        source_enqueued_time=enqueued,
        payload=payload_view(bytes(raw)),
        history=[_history_entry(entry) for entry in history],
    )


def _history_entry(row: tuple[Any, ...]) -> HistoryEntry:
    fields = dict(zip(HistoryEntry.model_fields, row, strict=True))
    edited = fields.pop("edited_payload")
    return HistoryEntry.model_validate(
        {**fields, "edited_payload": None if edited is None else payload_view(bytes(edited))}
    )


def failed_item_stats(settings: Settings) -> StatsReport:
    """Counts by status, stage and code; the oldest pending item; failed items per hour, last day."""
    with store.dlq_connection(settings, "stats") as conn:
        counts = conn.execute(store.STATS_BY_CODE).fetchall()
        oldest = conn.execute(store.OLDEST_PENDING).fetchone()
        hours = conn.execute(store.LAST_DAY).fetchall()
    by_status = dict.fromkeys(ItemStatus, 0)
    by_code: dict[tuple[str, str], CodeCount] = {}
    for stage, code, status, count in counts:
        by_status[ItemStatus(status)] += count
        entry = by_code.setdefault((stage, code), CodeCount(stage=stage, error_code=code))
        setattr(entry, status, getattr(entry, status) + count)
    return StatsReport(
        total=sum(by_status.values()),
        by_status=by_status,
        by_code=sorted(by_code.values(), key=lambda entry: (-entry.pending, entry.stage, entry.error_code)),
        oldest_pending=None
        if oldest is None
        else OldestPending(id=oldest[0], created_at=oldest[1], age_seconds=round(oldest[2], 3)),
        last_day=[HourCount(hour=hour, failed=count) for hour, count in hours],
    )

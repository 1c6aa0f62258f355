"""Rendering `paysim dlq` reports. Everything that came from an event (payload, ids, partitions, error
messages that quote it) is printed inertly: as Rich Text (never parsed as markup), control and
invisible formatting characters escaped, so a payload cannot restyle, move or clear the terminal."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from paysim_cli.dlq.models import (
        DiscardReport,
        ExportReport,
        ItemDetail,
        ListReport,
        Payload,
        PurgeReport,
        ReplayReport,
        StatsReport,
    )

# C0 and C1 controls, DEL, and the invisible characters that reorder or hide text (bidi overrides
# and isolates, zero-width characters, line and paragraph separators, the byte-order mark).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}
# A message or a payload in a table cell; `show` prints the whole message and the payload to here
# unless --full.
CELL_CHARS = 80
PAYLOAD_CHARS = 4000


def escaped(text: str) -> str:
    """`text` with every unsafe character written as an escape: \\n, \\x1b, \\u202e."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def inert(text: object, limit: int | None = None) -> Text:
    """Untrusted text as a Rich Text: escaped, never markup; cut to `limit` characters with an ellipsis."""
    from rich.text import Text

    if text is None:
        return Text("-")
    shown = escaped(str(text))
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return Text(shown)


def render_list(console: Console, report: ListReport) -> None:
    from rich.table import Table

    if not report.items:
        console.print("no failed items match")
        return
    table = Table(title=f"{len(report.items)} failed items, newest first")
    for column in ("id", "status", "created (UTC)", "stage", "code", "attempts", "source", "message"):
        table.add_column(column, justify="right" if column in ("id", "attempts") else "left")
    for item in report.items:
        source = (
            None
            if item.source_partition is None
            else f"{item.source_partition}/{item.source_sequence_number}"
        )
        table.add_row(
            str(item.id),
            str(item.status),
            f"{item.created_at:%Y-%m-%d %H:%M:%S}",
            inert(item.stage),
            inert(item.error_code),
            str(item.attempts),
            inert(source),
            inert(item.error_message, CELL_CHARS),
        )
    console.print(table)
    if report.next_after_id is not None:
        console.print(f"more: --after-id {report.next_after_id}")


def render_item(console: Console, item: ItemDetail, *, full: bool) -> None:
    from rich.table import Table

    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    rows: list[tuple[str, object]] = [
        ("id", item.id),
        ("status", item.status),
        ("attempts", item.attempts),
        ("stage", item.stage),
        ("error code", item.error_code),
        ("error", item.error_message),
        ("transaction id", item.transaction_id),
        ("run id", item.run_id),
        ("source partition", item.source_partition),
        ("source sequence", item.source_sequence_number),
        ("source offset", item.source_offset),
        ("source enqueued", item.source_enqueued_time),
        ("created", item.created_at),
        ("updated", item.updated_at),
    ]
    for name, value in rows:
        fields.add_row(name, inert(value))
    console.print(fields)
    console.print(_payload_heading("payload", item.payload))
    console.print(_payload_text(item.payload, full=full))
    render_history(console, item)


def render_history(console: Console, item: ItemDetail) -> None:
    from rich.table import Table

    if not item.history:
        console.print("history: no replay or discard yet (first attempt at creation)")
        return
    table = Table(title="history")
    for column in ("when (UTC)", "action", "route", "outcome", "status", "who", "detail"):
        table.add_column(column)
    for entry in item.history:
        details = [
            f"{entry.error_code}: {entry.error_message}" if entry.error_code else None,
            f"was {entry.replaced_error_code}" if entry.replaced_error_code else None,
            f"reason: {entry.reason}" if entry.reason else None,
            f"edited payload ({entry.edited_payload.bytes} bytes, sha256 {entry.edited_payload.sha256[:12]})"
            if entry.edited_payload
            else None,
            " ".join(f"{key}={value}" for key, value in entry.destination.items())
            if entry.destination
            else None,
        ]
        table.add_row(
            f"{entry.acted_at:%Y-%m-%d %H:%M:%S}",
            entry.action,
            str(entry.route or "-"),
            entry.outcome,
            f"{entry.status_before} → {entry.status_after}",
            inert(entry.actor),
            inert("; ".join(detail for detail in details if detail), CELL_CHARS * 2),
        )
    console.print(table)


def _payload_heading(name: str, payload: Payload) -> str:
    kind = "UTF-8 text" if payload.encoding == "utf-8" else "not UTF-8, in base64"
    return f"{name}: {payload.bytes:,} bytes, {kind}, sha256 {payload.sha256}"


def _payload_text(payload: Payload, *, full: bool) -> Text:
    text = inert(payload.content, None if full else PAYLOAD_CHARS)
    if not full and len(payload.content) > PAYLOAD_CHARS:
        text.append(f"  ({len(payload.content) - PAYLOAD_CHARS + 1:,} more characters: --full shows all)")
    return text


def render_stats(console: Console, report: StatsReport) -> None:
    from rich.table import Table

    statuses = ", ".join(f"{count:,} {status}" for status, count in report.by_status.items())
    console.print(f"{report.total:,} failed items: {statuses}")
    if report.oldest_pending is not None:
        oldest = report.oldest_pending
        console.print(
            f"oldest pending: item {oldest.id}, created {oldest.created_at:%Y-%m-%d %H:%M:%S} UTC "
            f"({_age(oldest.age_seconds)} ago)"
        )
    if report.by_code:
        table = Table(title="by stage and code")
        for column in ("stage", "code", "pending", "replayed", "discarded"):
            table.add_column(column, justify="left" if column in ("stage", "code") else "right")
        for entry in report.by_code:
            table.add_row(
                inert(entry.stage),
                inert(entry.error_code),
                f"{entry.pending:,}",
                f"{entry.replayed:,}",
                f"{entry.discarded:,}",
            )
        console.print(table)
    peak = max((hour.failed for hour in report.last_day), default=0)
    console.print("failed items per hour, last 24 hours (UTC):")
    for hour in report.last_day:
        bar = "█" * (round(30 * hour.failed / peak) if peak else 0)
        console.print(f"  {hour.hour:%m-%d %H:00}  {hour.failed:>9,}  {bar}")


def _age(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def render_replay(console: Console, report: ReplayReport) -> None:
    if report.dry_run:
        console.print(
            f"dry run over {report.attempted:,} of {report.matched:,} matching items (nothing written): "
            f"{report.processed:,} would succeed, {report.duplicates:,} are already counted (duplicates), "
            f"{report.failed:,} would fail again"
        )
    else:
        done = f"stopped by {report.interrupted_by} after" if report.interrupted_by else "replayed"
        console.print(
            f"{done} {report.attempted:,} of {report.matched:,} matching items via {report.route} "
            f"in {report.batches:,} batches, {report.elapsed_seconds:,.1f} s "
            f"({report.items_per_second:,.0f}/s): {report.processed:,} processed, "
            f"{report.duplicates:,} duplicates, {report.published:,} published, "
            f"{report.failed:,} failed again, {report.skipped:,} skipped"
        )
        if report.operation_id is not None:
            console.print(f"operation {report.operation_id} (in each item's history)")
    if report.by_code:
        console.print(_by_code_table(report))


def _by_code_table(report: ReplayReport) -> Table:
    from rich.table import Table

    table = Table(title="by error code before the replay")
    for column in ("code", "items", "processed", "duplicates", "published", "failed", "why it failed"):
        table.add_column(column, justify="left" if column in ("code", "why it failed") else "right")
    for entry in report.by_code:
        reasons = "; ".join(
            f"{reason.items:,} {reason.error_code}: {reason.example}" for reason in entry.failures
        )
        table.add_row(
            inert(entry.error_code),
            f"{entry.items:,}",
            f"{entry.processed:,}",
            f"{entry.duplicates:,}",
            f"{entry.published:,}",
            f"{entry.failed:,}",
            inert(reasons or "-", CELL_CHARS * 2),
        )
    return table


def render_discard(console: Console, report: DiscardReport) -> None:
    console.print(f"discarded {report.discarded:,} items (operation {report.operation_id})")


def render_purge(console: Console, report: PurgeReport) -> None:
    console.print(
        f"purged {report.deleted:,} {report.status} items last changed before "
        f"{report.cutoff:%Y-%m-%d %H:%M:%S} UTC, and {report.history_deleted:,} history rows"
    )


def render_export(console: Console, report: ExportReport) -> None:
    console.print(inert(f"wrote {report.items:,} items ({report.bytes:,} bytes) to {report.output}"))

"""Untrusted text is printed inertly: escaped control and invisible characters, never Rich markup."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from paysim_cli.commands.dlq.render import escaped, inert, render_list
from paysim_cli.dlq.models import ItemSummary, ListReport

HOSTILE = "[bold red]x[/bold red]\x1b[2J\x1b]8;;http://evil\x07link\u202eabc\u200b\r\n\t\x00\x9b:smile:"


def test_control_bidi_and_zero_width_characters_are_escaped() -> None:
    assert escaped(HOSTILE) == (
        "[bold red]x[/bold red]\\x1b[2J\\x1b]8;;http://evil\\x07link\\u202eabc\\u200b\\r\\n\\t\\x00\\x9b:smile:"
    )
    assert escaped("plain text, ünïcode, 日本") == "plain text, ünïcode, 日本"


def test_inert_text_is_cut_with_an_ellipsis_and_none_is_a_dash() -> None:
    assert inert("abcdef", 4).plain == "abc…"
    assert inert(None).plain == "-"
    assert inert(42).plain == "42"


def _console(stream: io.StringIO) -> Console:
    return Console(file=stream, force_terminal=True, width=400, highlight=False)


def test_a_table_of_hostile_items_prints_them_literally() -> None:
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    item = ItemSummary(
        id=7,
        status="pending",
        stage="decode",
        error_code="not_json",
        error_message=":smile: " + HOSTILE,
        transaction_id=None,
        source_partition="[red]0",
        source_sequence_number=1,
        run_id=None,
        attempts=1,
        created_at=moment,
        updated_at=moment,
        payload_bytes=10,
    )
    stream = io.StringIO()
    render_list(_console(stream), ListReport(items=[item], next_after_id=None))
    printed = stream.getvalue()
    assert "[bold red]x[/bold red]\\x1b[2J" in printed
    assert "[red]0/1" in printed
    assert "\x07" not in printed
    assert "\u202e" not in printed
    assert ":smile:" in printed  # no emoji substitution either

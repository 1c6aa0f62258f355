"""Parsing `--from` positions: start, end, seq:N, time:ISO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.transport import EventPosition, PositionKind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start", EventPosition(PositionKind.START)),
        (" END ", EventPosition(PositionKind.END)),
        ("seq:42", EventPosition(PositionKind.SEQUENCE, sequence_number=42)),
        (
            "time:2025-01-31T12:00:00",
            EventPosition(PositionKind.TIME, enqueued_time=datetime(2025, 1, 31, 12, tzinfo=UTC)),
        ),
        (
            "time:2025-01-31T12:00:00+02:00",
            EventPosition(
                PositionKind.TIME,
                enqueued_time=datetime(2025, 1, 31, 12, tzinfo=timezone(timedelta(hours=2))),
            ),
        ),
    ],
)
def test_parse(text: str, expected: EventPosition) -> None:
    assert EventPosition.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "shown"),
    [("start", "start"), ("seq:3", "seq:3"), ("time:2025-01-31T12:00:00Z", "time:2025-01-31T12:00:00+00:00")],
)
def test_str_round_trips(text: str, shown: str) -> None:
    assert str(EventPosition.parse(text)) == shown


@pytest.mark.parametrize("text", ["latest", "seq:", "seq:-1", "seq:x", "time:yesterday", "start:1", ""])
def test_parse_rejects_with_a_usage_error(text: str) -> None:
    with pytest.raises(PaysimError) as raised:
        EventPosition.parse(text)
    assert raised.value.code == "invalid_position"
    assert raised.value.exit_code is ExitCode.USAGE

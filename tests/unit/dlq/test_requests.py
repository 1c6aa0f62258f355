"""The DLQ's request models own their bounds and the statuses each verb may act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from paysim_cli.commands.dlq.options import StatusChoice, filter_values
from paysim_cli.dlq.bounds import parse_duration
from paysim_cli.dlq.models import ItemFilter, PurgeRequest, ReplayRequest


def test_durations_and_naive_times() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration(" 90m ") == timedelta(minutes=90)
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("1y")
    item_filter = ItemFilter(since="2h", until="2099-01-01T00:00:00")
    assert item_filter.until == datetime(2099, 1, 1, tzinfo=UTC)
    assert item_filter.since is not None
    assert abs(datetime.now(UTC) - timedelta(hours=2) - item_filter.since) < timedelta(minutes=1)


def test_filters_keep_unique_values_and_refuse_unknown_ones() -> None:
    assert ItemFilter(ids=(3, 3, 1), codes=("not_json", "not_json")).model_dump()["ids"] == (3, 1)
    with pytest.raises(ValidationError, match="unknown error code 'nope'"):
        ItemFilter(codes=("nope",))
    with pytest.raises(ValidationError, match="must be later than --since"):
        ItemFilter(since="2026-01-02T00:00:00Z", until="2026-01-01T00:00:00Z")


def test_verbs_act_only_on_the_statuses_they_may() -> None:
    with pytest.raises(ValidationError, match="only pending or discarded"):
        ReplayRequest(filter=ItemFilter(status=None))
    with pytest.raises(ValidationError, match="never purged"):
        PurgeRequest(older_than="1d", status="pending")
    assert ReplayRequest(filter=ItemFilter(status="discarded")).workers == 2


def test_all_statuses_and_unset_options_build_the_filter() -> None:
    values = filter_values(
        StatusChoice.ALL, {"codes": None, "stages": ["decode"], "partitions": [], "ids": [4]}
    )
    assert values == {"status": None, "stages": ["decode"], "ids": [4]}

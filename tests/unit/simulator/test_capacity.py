"""The Event Hubs capacity check: 1 MB/s or 1,000 events/s per throughput unit and per partition."""

from __future__ import annotations

from paysim_cli.simulator.capacity import check_capacity


def test_within_capacity() -> None:
    check = check_capacity(peak_rate=900, mean_event_bytes=500, partitions=4, throughput_units=1)
    assert check.required_throughput_units == 1
    assert check.warnings == []


def test_events_per_second_limit() -> None:
    check = check_capacity(peak_rate=10_000, mean_event_bytes=450, partitions=4, throughput_units=2)
    assert check.required_throughput_units == 10
    assert len(check.warnings) == 2
    assert "needs 10 throughput units, the hub has 2" in check.warnings[0]
    assert "4 partitions take about 4,000 events/s" in check.warnings[1]


def test_bytes_per_second_limit() -> None:
    check = check_capacity(peak_rate=1_500, mean_event_bytes=2_000, partitions=32, throughput_units=2)
    assert check.required_throughput_units == 3
    assert len(check.warnings) == 1

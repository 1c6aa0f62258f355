"""Time series merge exactly: counters add, histograms add bucket by bucket, gauges keep the highest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paysim_cli.latency import LatencyHistogram
from paysim_cli.runs.series import TimeSeries, read_series, write_series


def _record(series: TimeSeries, second: int, latencies: np.ndarray) -> None:
    series.add(second, "sent", len(latencies))
    series.at(second).histogram("publish").record(latencies)


def test_two_workers_series_merge_into_the_series_of_all_their_events() -> None:
    rng = np.random.default_rng(7)
    latencies = {second: rng.exponential(0.05, 1000) for second in range(100, 110)}
    whole, first, second_half = TimeSeries(), TimeSeries(), TimeSeries()
    for second, values in latencies.items():
        _record(whole, second, values)
        _record(first, second, values[:300])
        _record(second_half, second, values[300:])
    merged = TimeSeries()
    merged.merge(first)
    merged.merge(second_half)

    assert merged.counter("sent") == whole.counter("sent") == 10_000
    for second in latencies:
        assert np.array_equal(
            merged.seconds[second].histograms["publish"].counts,
            whole.seconds[second].histograms["publish"].counts,
        )
    assert merged.total_histogram("publish").summary() == whole.total_histogram("publish").summary()


def test_gauges_keep_the_highest_reading_of_the_second() -> None:
    one, other = TimeSeries(), TimeSeries()
    one.gauge(5, "lag:0", 10)
    one.gauge(5, "lag:0", 4)
    other.gauge(5, "lag:0", 7)
    other.gauge(6, "lag:0", 0)
    one.merge(other)
    assert one.seconds[5].gauges == {"lag:0": 10}
    assert one.seconds[6].gauges == {"lag:0": 0}


def test_a_series_survives_its_file(tmp_path: Path) -> None:
    series = TimeSeries()
    series.add(1, "target_rate", 1234.5)
    series.gauge(1, "lag:3", 42)
    histogram = LatencyHistogram()
    histogram.record(np.array([0.001, 0.002, 0.5, 3600.0]))
    series.at(2).histogram("e2e").merge(histogram)
    path = tmp_path / "series" / "simulate-0.json"
    write_series(series, path)

    again = read_series([path, tmp_path / "missing.json"])
    assert again.seconds[1].counters == {"target_rate": 1234.5}
    assert again.seconds[1].gauges == {"lag:3": 42}
    assert np.array_equal(again.seconds[2].histograms["e2e"].counts, histogram.counts)
    assert again.span() == (1, 2)
    assert not list(path.parent.glob("*.tmp"))

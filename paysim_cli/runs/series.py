"""A run's time series: per-second counters, gauges and latency histograms, in epoch seconds.

The simulate workers and the local pipeline host each record one while they run and write it beside the
manifest. Series merge exactly, whatever the split: counters add, histograms add bucket by bucket (so a
percentile of merged seconds is the percentile of all their events), and gauges — one observer's
reading, such as a partition's lag — keep the highest reading of the second.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paysim_cli.latency import BUCKETS, LatencyHistogram

SERIES_VERSION = 1


@dataclass
class Second:
    """The figures of one second."""

    counters: dict[str, float] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, LatencyHistogram] = field(default_factory=dict)

    def merge(self, other: Second) -> None:
        for name, value in other.counters.items():
            self.counters[name] = self.counters.get(name, 0) + value
        for name, value in other.gauges.items():
            self.gauges[name] = max(self.gauges.get(name, value), value)
        for name, histogram in other.histograms.items():
            self.histogram(name).merge(histogram)

    def histogram(self, name: str) -> LatencyHistogram:
        histogram = self.histograms.get(name)
        if histogram is None:
            histogram = self.histograms[name] = LatencyHistogram()
        return histogram


@dataclass
class TimeSeries:
    """Seconds by epoch second; picklable, so a worker process can hand its series to its parent."""

    seconds: dict[int, Second] = field(default_factory=dict)

    def at(self, second: int) -> Second:
        entry = self.seconds.get(second)
        if entry is None:
            entry = self.seconds[second] = Second()
        return entry

    def add(self, second: int, name: str, value: float) -> None:
        counters = self.at(second).counters
        counters[name] = counters.get(name, 0) + value

    def gauge(self, second: int, name: str, value: float) -> None:
        gauges = self.at(second).gauges
        gauges[name] = max(gauges.get(name, value), value)

    def merge(self, other: TimeSeries) -> None:
        for second, entry in other.seconds.items():
            self.at(second).merge(entry)

    def span(self) -> tuple[int, int] | None:
        return (min(self.seconds), max(self.seconds)) if self.seconds else None

    def counter(self, name: str) -> float:
        """The counter's total over the whole series."""
        return sum(entry.counters.get(name, 0) for entry in self.seconds.values())

    def counter_values(self, name: str) -> list[float]:
        """The counter's value in each second that has it."""
        return [entry.counters[name] for entry in self.seconds.values() if name in entry.counters]

    def total_histogram(self, name: str) -> LatencyHistogram:
        total = LatencyHistogram()
        for entry in self.seconds.values():
            if name in entry.histograms:
                total.merge(entry.histograms[name])
        return total

    def to_json(self) -> dict[str, object]:
        seconds = [_second_json(second, entry) for second, entry in sorted(self.seconds.items())]
        return {"series_version": SERIES_VERSION, "seconds": seconds}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TimeSeries:
        series = cls()
        seconds = document.get("seconds")
        for item in seconds if isinstance(seconds, list) else []:
            entry = series.at(int(item["t"]))
            entry.counters.update(item.get("counters", {}))
            entry.gauges.update(item.get("gauges", {}))
            for name, buckets in item.get("histograms", {}).items():
                histogram = entry.histogram(name)
                for bucket, count in buckets.items():
                    histogram.counts[min(int(bucket), BUCKETS - 1)] += int(count)
        return series


def _second_json(second: int, entry: Second) -> dict[str, object]:
    """Histograms sparse: a second's few hundred events fill a handful of its ~2,200 buckets."""
    import numpy as np

    histograms = {
        name: {str(bucket): int(histogram.counts[bucket]) for bucket in np.flatnonzero(histogram.counts)}
        for name, histogram in sorted(entry.histograms.items())
    }
    return {"t": second, "counters": entry.counters, "gauges": entry.gauges, "histograms": histograms}


def write_series(series: TimeSeries, path: Path) -> None:
    """Write atomically, like the manifest: a reader never sees half a series."""
    import orjson

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(orjson.dumps(series.to_json()))
    os.replace(temporary, path)


def read_series(paths: Iterable[Path]) -> TimeSeries:
    """The files' series merged into one (missing files count as empty)."""
    import orjson

    merged = TimeSeries()
    for path in paths:
        if path.is_file():
            merged.merge(TimeSeries.from_json(orjson.loads(path.read_bytes())))
    return merged

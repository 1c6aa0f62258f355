"""Latency percentiles from a log-bucketed histogram: within 1% of the exact values, mergeable."""

from __future__ import annotations

import numpy as np
import pytest

from paysim_cli.latency import LatencyHistogram


def test_percentiles_within_one_percent() -> None:
    latencies = np.random.default_rng(1).lognormal(np.log(0.01), 1.0, 100_000)
    histogram = LatencyHistogram()
    histogram.record(latencies[:50_000])
    other = LatencyHistogram()
    other.record(latencies[50_000:])
    histogram.merge(other)
    assert histogram.total == 100_000
    for quantile in (0.5, 0.95, 0.99):
        exact = float(np.quantile(latencies, quantile)) * 1000
        assert histogram.percentile_ms(quantile) == pytest.approx(exact, rel=0.011)
    summary = histogram.summary()
    assert summary.max == pytest.approx(latencies.max() * 1000, rel=0.011)


def test_empty_and_tiny_latencies() -> None:
    histogram = LatencyHistogram()
    assert histogram.summary().p99 == 0.0
    histogram.record(np.array([0.0, -1e-9]))
    assert histogram.percentile_ms(0.5) == 0.001

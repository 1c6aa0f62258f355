"""The gate's lag trend: a least-squares slope, so one noisy sample does not fail a good release."""

from __future__ import annotations

import pytest

from paysim_cli.deploy.gate import slope


def test_a_steady_or_noisy_lag_does_not_grow() -> None:
    assert slope([(0.0, 500), (1.0, 500), (2.0, 500)]) == 0.0
    noisy = [(0.0, 400), (1.0, 900), (2.0, 300), (3.0, 600), (4.0, 450)]
    assert abs(slope(noisy)) < 100


def test_a_stalled_pipeline_at_2000_events_a_second_grows_by_that_much() -> None:
    samples = [(t / 2, 2000 * t // 2) for t in range(10)]
    assert slope(samples) == pytest.approx(2000, rel=0.01)


def test_samples_taken_at_once_have_no_slope() -> None:
    assert slope([(1.0, 5), (1.0, 10)]) == 0.0

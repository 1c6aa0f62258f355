"""Open-model schedules: intended send times follow the profile's rate, stages and diurnal curve."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from paysim_cli.simulator.profile_store import load_profile
from paysim_cli.simulator.schedule import RatePlan, RateSegment, Schedule

ProfileFile = Callable[..., Path]


def _flat(rate: float) -> RatePlan:
    return RatePlan([RateSegment(0.0, math.inf, rate, rate)])


def test_hold_spaces_events_evenly() -> None:
    schedule = Schedule(_flat(100), duration=10)
    assert schedule.total == 1000
    assert np.allclose(schedule.times(0, 5), [0.0, 0.01, 0.02, 0.03, 0.04])
    assert schedule.due(0.0) == 1
    assert schedule.due(0.0299999) == 3
    assert schedule.due(0.03) == 4
    assert schedule.due(100) == 1000
    assert schedule.target_rate(10.5) == pytest.approx(100)


def test_ramp_integrates_linearly_and_inverts_exactly() -> None:
    plan = RatePlan([RateSegment(0, 10, 0, 100), RateSegment(10, math.inf, 100, 100)])
    assert plan.cumulative(10) == pytest.approx(500)
    assert plan.events_before(10) == 500
    times = plan.time_of(np.arange(0, 600, dtype=np.float64))
    assert np.all(np.diff(times) > 0)
    assert [plan.cumulative(t) for t in times[[1, 250, 499, 550]]] == pytest.approx([1, 250, 499, 550])
    assert plan.rate_at(5) == 50


def test_profile_stages_ramp_hold_spike(profile_file: ProfileFile) -> None:
    profile = load_profile(
        profile_file(
            "stages:\n"
            "  - {kind: ramp, duration: 10, to: 200}\n"
            "  - {kind: spike, duration: 5, to: 1000}\n"
            "  - {kind: hold, duration: 5}\n"
            "  - {kind: hold, duration: 5, rate: 50}\n",
            text=Path(profile_file()).read_text().replace("duration: 2\n", ""),
        )
    )
    plan = RatePlan.from_profile(profile, start_epoch=0, rate=None)
    assert profile.planned_duration == 25
    # ramp 1000 -> 200 over 10 s, spike 1000 for 5 s, back to 200 for 5 s, then 50 for 5 s
    assert plan.events_before(10) == 6000
    assert plan.events_before(15) == 11000
    assert plan.events_before(20) == 12000
    assert plan.events_before(25) == 12250
    assert plan.peak_rate(25) == 1000
    assert plan.rate_at(30) == 50  # the last rate holds after the stages


def test_explicit_rate_is_flat_and_scales_per_worker(profile_file: ProfileFile) -> None:
    profile = load_profile(profile_file("stages:\n  - {kind: spike, duration: 1, to: 9000}\n"))
    plan = RatePlan.from_profile(profile, start_epoch=0, rate=300, scale=1 / 3)
    assert plan.events_before(2) == 200
    assert plan.peak_rate(2) == pytest.approx(100)


def test_diurnal_curve_multiplies_each_utc_hour(profile_file: ProfileFile) -> None:
    curve = [1.0] * 24
    curve[1] = 3.0
    profile = load_profile(profile_file(f"diurnal: {curve}\n"))
    start = datetime(2025, 11, 28, 0, 59, 30, tzinfo=UTC).timestamp()
    plan = RatePlan.from_profile(profile, start_epoch=start)
    assert plan.events_before(30) == 30_000  # 1,000/s until 01:00
    assert plan.events_before(60) == 30_000 + 90_000  # then 3,000/s
    assert plan.rate_at(45) == 3000


def test_count_mode_ends_when_the_last_event_is_due() -> None:
    schedule = Schedule(_flat(50), count=100)
    assert schedule.total == 100
    assert schedule.planned_end == pytest.approx(2.0)


def test_count_never_reached_at_rate_zero() -> None:
    assert math.isinf(Schedule(_flat(0), count=5).planned_end)
    assert Schedule(_flat(0), duration=5).total == 0


def test_a_schedule_needs_exactly_one_end() -> None:
    with pytest.raises(ValueError, match="duration or a count"):
        Schedule(_flat(1), duration=1, count=1)


def test_replan_keeps_due_events_and_follows_the_new_rate_afterwards() -> None:
    schedule = Schedule(_flat(100), duration=10)
    schedule.replan(_flat(1000), at=5.0, next_index=400, duration=10)
    # 501 events were due at t=5 (the first at t=0); the rest follow 1,000/s from t=5
    assert schedule.times(499, 501)[0] == pytest.approx(4.99)
    assert schedule.time_of(501) == pytest.approx(5.0)
    assert schedule.time_of(502) == pytest.approx(5.001)
    assert schedule.total == 501 + 5000
    assert schedule.due(6.0) == 501 + 1001
    assert schedule.rate_at(6.0) == 1000

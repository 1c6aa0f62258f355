"""Open-model rate control: every event's intended send time is fixed by the profile, not by the target.

A plan is a piecewise-linear rate r(t) over seconds since the run started. N(t), its integral, counts the
events due by t; event k is due at the t where N(t) = k. A slow target makes events late, never later
scheduled, so latency measured from the intended time includes the queueing a slow target causes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paysim_cli.simulator.profile import HoldStage, Profile, RampStage

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# Float slack when N(t) lands on an integer: event k due at t_k must count as due at t_k.
EPSILON = 1e-9
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True, slots=True)
class RateSegment:
    """r(t) moves linearly from `start_rate` to `end_rate` over [start, end); `end` may be infinite."""

    start: float
    end: float
    start_rate: float
    end_rate: float

    @property
    def slope(self) -> float:
        return 0.0 if math.isinf(self.end) else (self.end_rate - self.start_rate) / (self.end - self.start)

    def rate_at(self, moment: float) -> float:
        return self.start_rate + self.slope * (moment - self.start)

    def events_until(self, moment: float) -> float:
        """Events due from the segment's start to `moment` (inside the segment)."""
        elapsed = moment - self.start
        return self.start_rate * elapsed + self.slope * elapsed * elapsed / 2

    def scaled(self, factor: float, start: float, end: float) -> RateSegment:
        """The part of the segment over [start, end), its rate multiplied by `factor`."""
        end_rate = self.rate_at(end) if not math.isinf(end) else self.end_rate
        return RateSegment(start, end, self.rate_at(start) * factor, end_rate * factor)


def stage_segments(profile: Profile, rate: float | None = None) -> Iterator[RateSegment]:
    """The profile's stages as segments, then its last rate forever. A given `rate` replaces them all."""
    if rate is not None:
        yield RateSegment(0.0, math.inf, rate, rate)
        return
    start, current = 0.0, profile.rate
    for stage in profile.stages:
        end = start + stage.duration
        if isinstance(stage, RampStage):
            yield RateSegment(start, end, current, stage.to)
            current = stage.to
        elif isinstance(stage, HoldStage):
            current = current if stage.rate is None else stage.rate
            yield RateSegment(start, end, current, current)
        else:  # a spike returns to the rate before it
            yield RateSegment(start, end, stage.to, stage.to)
        start = end
    yield RateSegment(start, math.inf, current, current)


def diurnal_segments(
    segments: Iterable[RateSegment], diurnal: list[float], start_epoch: float
) -> Iterator[RateSegment]:
    """Segments cut at UTC hour boundaries, each multiplied by its hour's factor (lazily: may be endless)."""
    for segment in segments:
        start = segment.start
        while start < segment.end:
            absolute = start_epoch + start
            hour_end = (math.floor(absolute / SECONDS_PER_HOUR) + 1) * SECONDS_PER_HOUR - start_epoch
            end = min(segment.end, hour_end)
            factor = diurnal[int(absolute // SECONDS_PER_HOUR) % 24]
            yield segment.scaled(factor, start, end)
            start = end


class RatePlan:
    """r(t) from t = 0, with N(t) and its inverse. Segments are drawn from an iterator as far as needed."""

    def __init__(self, segments: Iterable[RateSegment]) -> None:
        self._pending = iter(segments)
        self._segments: list[RateSegment] = []
        self._first_event: list[float] = []  # N at each segment's start
        self._exhausted = False
        self._arrays: tuple[npt.NDArray[np.float64], ...] | None = None

    @classmethod
    def from_profile(
        cls, profile: Profile, *, start_epoch: float, rate: float | None = None, scale: float = 1.0
    ) -> RatePlan:
        """The profile's plan; a given `rate` is flat (no stages, no diurnal curve). `scale` splits it."""
        segments: Iterable[RateSegment] = stage_segments(profile, rate)
        if rate is None and profile.diurnal is not None:
            segments = diurnal_segments(segments, profile.diurnal, start_epoch)
        if scale != 1.0:
            segments = (segment.scaled(scale, segment.start, segment.end) for segment in segments)
        return cls(segments)

    def _pull(self) -> bool:
        segment = next(self._pending, None)
        if segment is None:
            self._exhausted = True
            return False
        if self._segments:
            last = self._segments[-1]
            self._first_event.append(self._first_event[-1] + last.events_until(last.end))
        else:
            self._first_event.append(0.0)
        self._segments.append(segment)
        self._arrays = None
        return True

    def _covering_time(self, moment: float) -> int:
        """Index of the segment that holds `moment`, drawing segments until one does."""
        while (not self._segments or self._segments[-1].end <= moment) and self._pull():
            pass
        index = len(self._segments) - 1
        while index > 0 and self._segments[index].start > moment:
            index -= 1
        return index

    def _extend_to_events(self, position: float) -> None:
        while not self._exhausted and (not self._segments or self._events_at_end() <= position):
            self._pull()

    def _events_at_end(self) -> float:
        last = self._segments[-1]
        if math.isinf(last.end):
            return math.inf if last.start_rate > 0 else self._first_event[-1]
        return self._first_event[-1] + last.events_until(last.end)

    def cumulative(self, moment: float) -> float:
        """N(moment): events due from the start to `moment`, as a real number."""
        index = self._covering_time(moment)
        return self._first_event[index] + self._segments[index].events_until(moment)

    def events_before(self, moment: float) -> int:
        """How many events are due strictly before `moment`."""
        return max(0, math.ceil(self.cumulative(moment) - EPSILON))

    def rate_at(self, moment: float) -> float:
        return self._segments[self._covering_time(moment)].rate_at(moment)

    def peak_rate(self, until: float) -> float:
        """The highest rate the plan reaches over [0, until]."""
        last = self._covering_time(until)
        return max(
            max(segment.start_rate, segment.rate_at(min(segment.end, until)))
            for segment in self._segments[: last + 1]
        )

    def time_of(self, positions: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """t with N(t) = position, for each position (infinite when the plan never gets there)."""
        import numpy as np

        if positions.size == 0:
            return positions.astype(np.float64)
        self._extend_to_events(float(positions.max()))
        starts, first_events, start_rates, slopes = self._segment_arrays()
        index = np.searchsorted(first_events, positions, side="right") - 1
        delta = positions - first_events[index]
        rate0, slope = start_rates[index], slopes[index]
        # Root of slope/2 x^2 + rate0 x = delta, in the form that stays exact when slope is 0.
        denominator = rate0 + np.sqrt(np.maximum(rate0 * rate0 + 2 * slope * delta, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            offset = np.where(delta > 0, 2 * delta / denominator, 0.0)
        return np.where((delta > 0) & (denominator <= 0), np.inf, starts[index] + offset)

    def _segment_arrays(self) -> tuple[npt.NDArray[np.float64], ...]:
        import numpy as np

        if self._arrays is None:
            self._arrays = (
                np.array([segment.start for segment in self._segments]),
                np.array(self._first_event),
                np.array([segment.start_rate for segment in self._segments]),
                np.array([segment.slope for segment in self._segments]),
            )
        return self._arrays


@dataclass(frozen=True, slots=True)
class _Piece:
    first_index: int
    plan: RatePlan
    position: float  # N under `plan` at which event `first_index` is due


class Schedule:
    """Intended send times of one worker's events, for a duration or a count.

    `replan` switches to another plan mid-run (a reloaded profile): events already due keep their times,
    later ones follow the new plan from the moment of the switch.
    """

    def __init__(self, plan: RatePlan, *, duration: float | None = None, count: int | None = None) -> None:
        if (duration is None) == (count is None):
            raise ValueError("a schedule runs for a duration or a count")
        self._pieces = [_Piece(0, plan, 0.0)]
        self._duration = duration
        self._count = count
        self.total = self._planned_total()

    def _planned_total(self) -> int:
        if self._count is not None:
            return self._count
        assert self._duration is not None
        piece = self._pieces[-1]
        remaining = math.ceil(piece.plan.cumulative(self._duration) - piece.position - EPSILON)
        return piece.first_index + max(0, remaining)

    def replan(self, plan: RatePlan, *, at: float, next_index: int, duration: float | None = None) -> None:
        first_index = max(next_index, self.due(at))
        self._pieces = [piece for piece in self._pieces if piece.first_index < first_index]
        self._pieces.append(_Piece(first_index, plan, plan.cumulative(at)))
        if duration is not None and self._count is None:
            self._duration = duration
        self.total = max(self._planned_total(), first_index)

    def due(self, moment: float) -> int:
        """How many events are due at `moment` (intended time <= moment), at most the total."""
        piece = self._pieces[-1]
        position = piece.plan.cumulative(moment)
        due = piece.first_index + max(0, math.floor(position - piece.position + EPSILON) + 1)
        return min(self.total, due)

    def times(self, start: int, stop: int) -> npt.NDArray[np.float64]:
        """Intended send times of events [start, stop), in seconds since the run started."""
        import numpy as np

        parts = []
        for number, piece in enumerate(self._pieces):
            following = self._pieces[number + 1].first_index if number + 1 < len(self._pieces) else stop
            low, high = max(start, piece.first_index), min(stop, following)
            if low < high:
                positions = piece.position + np.arange(low - piece.first_index, high - piece.first_index)
                parts.append(piece.plan.time_of(positions.astype(np.float64)))
        return np.concatenate(parts) if parts else np.empty(0)

    def time_of(self, index: int) -> float:
        return float(self.times(index, index + 1)[0])

    def rate_at(self, moment: float) -> float:
        return self._pieces[-1].plan.rate_at(moment)

    @property
    def planned_end(self) -> float:
        """When the run is planned to end: its duration, or when the event after the last is due."""
        return self._duration if self._duration is not None else self.time_of(self.total)

    def target_rate(self, stopped_at: float) -> float:
        """The mean rate the schedule asked for, up to the planned end or the moment the run stopped."""
        horizon = min(self.planned_end, stopped_at)
        return self.due(horizon) / horizon if horizon > 0 else 0.0

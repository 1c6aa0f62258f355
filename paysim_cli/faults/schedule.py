"""When each fault of a spec strikes: counted faults spread evenly over the middle of the run (seeded
jitter, so kinds interleave and a rerun with the same seed strikes at the same seconds)."""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict

from paysim_cli.faults.spec import FaultKind, FaultSpec

# The first faults wait until the pipeline is busy, the last leave the run time to show its recovery.
WINDOW_START = 0.1
WINDOW_END = 0.85
MIN_START_SECONDS = 2.0


class ScheduledFault(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int  # 1.., in the order they strike
    kind: FaultKind
    at: float  # seconds after the run started


def schedule_faults(spec: FaultSpec, duration: float, seed: int) -> list[ScheduledFault]:
    """Every fault of `spec` with its second in a run of `duration` seconds, earliest first."""
    rng = random.Random(seed)
    start = min(max(MIN_START_SECONDS, duration * WINDOW_START), duration * 0.5)
    window = max(0.0, duration * WINDOW_END - start)
    times: list[tuple[float, FaultKind]] = []
    for entry in spec.entries:
        if entry.at is not None:
            times.append((entry.at, entry.kind))
            continue
        slot = window / entry.count
        for index in range(entry.count):
            times.append((start + slot * (index + 0.5 + rng.uniform(-0.25, 0.25)), entry.kind))
    times.sort(key=lambda item: item[0])
    return [
        ScheduledFault(number=number, kind=kind, at=round(at, 2))
        for number, (at, kind) in enumerate(times, start=1)
    ]

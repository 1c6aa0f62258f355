"""Exponential backoff with full jitter, for every retry loop: the simulator's publishes, the pipeline's
redeliveries."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n)) seconds."""

    attempts: int = 6
    base_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int, jitter: random.Random) -> float:
        return jitter.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))

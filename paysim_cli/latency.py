"""Latency as a mergeable histogram: the simulator's publish latency (intended send time to
acknowledgement) and the pipeline's end-to-end latency (intended send time to commit)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# Buckets grow by 1%: percentiles within 1% of the truth, from 1 microsecond to over an hour.
GROWTH = 1.01
BUCKETS = math.ceil(math.log(4e9) / math.log(GROWTH))


class LatencySummary(BaseModel):
    p50: float
    p95: float
    p99: float
    max: float


class LatencyHistogram:
    """Counts of latencies in logarithmic buckets; workers' histograms add up exactly."""

    def __init__(self) -> None:
        import numpy as np

        self.counts: npt.NDArray[np.int64] = np.zeros(BUCKETS, dtype=np.int64)

    def record(self, latencies_seconds: npt.NDArray[np.float64]) -> None:
        import numpy as np

        micros = np.maximum(latencies_seconds * 1e6, 1.0)
        index = np.minimum(np.ceil(np.log(micros) / math.log(GROWTH)), BUCKETS - 1).astype(np.int64)
        self.counts += np.bincount(index, minlength=BUCKETS)

    def merge(self, other: LatencyHistogram) -> None:
        self.counts += other.counts

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def percentile_ms(self, quantile: float) -> float:
        """The latency (ms) at `quantile` (0..1): the upper bound of the bucket that holds it."""
        import numpy as np

        total = self.total
        if total == 0:
            return 0.0
        rank = max(1, math.ceil(quantile * total))
        bucket = int(np.searchsorted(np.cumsum(self.counts), rank))
        return round(GROWTH**bucket / 1000, 3)

    def summary(self) -> LatencySummary:
        return LatencySummary(
            p50=self.percentile_ms(0.50),
            p95=self.percentile_ms(0.95),
            p99=self.percentile_ms(0.99),
            max=self.percentile_ms(1.0),
        )

"""The recorders of a run's time series: one per simulate worker, one per local pipeline host.

A simulate worker records, per second of the wall clock: the events due by the schedule (`intended`,
by their intended send time), those acknowledged (`sent`, by acknowledgement time) or given up
(`failed`), the malformed and duplicate ones it sent, its share of the target rate, and the publish
latency of each event (intended send time to acknowledgement). The host records the events processed,
each run's end-to-end latency (intended send time to the function's return) and each partition's lag
as it polls its workers, and when it stops, each run's failed items by error code and second. Each
writes its own file in the run's `series/` directory; readers merge them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from paysim_cli.errors import PaysimError
from paysim_cli.latency import LatencyHistogram
from paysim_cli.runs.layout import pipeline_series_file, run_directory, simulate_series_file
from paysim_cli.runs.series import TimeSeries, write_series
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

LAG_PREFIX = "lag:"  # a gauge per partition: lag:<partition id>
FAILED_ITEM_PREFIX = "failed_item:"  # a counter per error code: failed_item:<code>

logger = logging.getLogger(__name__)


class _Rates(Protocol):
    """The schedule, as far as the target rate goes."""

    def rate_at(self, moment: float) -> float: ...

    @property
    def planned_end(self) -> float: ...


class SimulateRecorder:
    """One simulate worker's series; `now` readings are seconds since the worker's start."""

    def __init__(self, run_dir: Path, worker: int, wall_start: float) -> None:
        self.series = TimeSeries()
        self._path = simulate_series_file(run_dir, worker)
        self._wall_start = wall_start
        self._rate_second: int | None = None

    def _second(self, now: float) -> int:
        return int(self._wall_start + now)

    def target(self, now: float, schedule: _Rates) -> None:
        """The schedule's rate in each second from the run's start up to `now` not yet recorded: a loop
        stuck in one long publish skips seconds. The workers' shares add up to the run's target."""
        second = self._second(now)
        first = int(self._wall_start) if self._rate_second is None else self._rate_second + 1
        for whole in range(first, second + 1):
            moment = max(0.0, whole - self._wall_start)  # the rate as the second starts
            rate = schedule.rate_at(moment) if moment < schedule.planned_end else 0.0
            self.series.add(whole, "target_rate", rate)
        self._rate_second = max(second, first - 1)

    def delivered(self, now: float, intended: npt.NDArray[np.float64], kinds: npt.NDArray[np.int64]) -> None:
        """A publish acknowledged at `now`: events intended at `intended`, of `kinds` (EventKind)."""
        import numpy as np

        from paysim_cli.simulator.generator import EventKind

        self._intended(intended)
        entry = self.series.at(self._second(now))
        entry.counters["sent"] = entry.counters.get("sent", 0) + len(intended)
        for kind, name in ((EventKind.MALFORMED, "malformed"), (EventKind.DUPLICATE, "duplicates")):
            found = int(np.count_nonzero(kinds == kind))
            if found:
                entry.counters[name] = entry.counters.get(name, 0) + found
        entry.histogram("publish").record(now - intended)

    def undelivered(self, now: float, intended: npt.NDArray[np.float64]) -> None:
        self._intended(intended)
        self.series.add(self._second(now), "failed", len(intended))

    def _intended(self, intended: npt.NDArray[np.float64]) -> None:
        import numpy as np

        seconds, counts = np.unique(
            np.floor(self._wall_start + intended).astype(np.int64), return_counts=True
        )
        for second, count in zip(seconds.tolist(), counts.tolist(), strict=True):
            self.series.add(second, "intended", count)

    def write(self) -> None:
        write_series(self.series, self._path)


class _ConsumerCounters(Protocol):
    events: int
    latency: dict[str, LatencyHistogram]


class _PartitionLag(Protocol):
    # Read-only: hub/lag.py's PartitionLag is a frozen dataclass.
    @property
    def partition_id(self) -> str: ...

    @property
    def lag(self) -> int: ...


class HostRecorder:
    """A pipeline host's series: what its workers processed since its last sample, and the lag.

    The workers report cumulative counters and histograms; each sample takes the difference from the
    previous one, so a second holds exactly the events committed since (all workers, restarts included).
    """

    def __init__(self, host_id: str) -> None:
        self.host_id = host_id
        self.host = TimeSeries()  # every event, whatever its run, and the partitions' lag
        self.runs: dict[str, TimeSeries] = {}  # per run id: its events and end-to-end latency
        self._events = 0
        self._seen: dict[str, LatencyHistogram] = {}

    def sample(
        self,
        stats: Iterable[_ConsumerCounters],
        partitions: Iterable[_PartitionLag],
        wall: float | None = None,
    ) -> None:
        second = int(time.time() if wall is None else wall)
        stats = list(stats)
        events = sum(item.events for item in stats)
        self.host.add(second, "processed_all", max(0, events - self._events))
        self._events = max(self._events, events)
        for partition in partitions:
            self.host.gauge(second, LAG_PREFIX + partition.partition_id, partition.lag)
        cumulative: dict[str, LatencyHistogram] = {}
        for item in stats:
            for run_id, histogram in item.latency.items():
                cumulative.setdefault(run_id, LatencyHistogram()).merge(histogram)
        for run_id, histogram in cumulative.items():
            self._add_run(second, run_id, histogram)

    def _add_run(self, second: int, run_id: str, cumulative: LatencyHistogram) -> None:
        import numpy as np

        seen = self._seen.setdefault(run_id, LatencyHistogram())
        delta = np.maximum(cumulative.counts - seen.counts, 0)
        if not delta.any():
            return
        seen.counts = np.maximum(seen.counts, cumulative.counts)
        series = self.runs.setdefault(run_id, TimeSeries())
        series.at(second).histogram("e2e").counts += delta
        series.add(second, "processed", int(delta.sum()))

    def write(self, settings: Settings) -> list[Path]:
        """Each run's series, with the host's figures over the seconds the run was processed, in the
        directory of the runs this state directory holds; the files written."""
        written = []
        for run_id, series in self.runs.items():
            run_dir = run_directory(settings, run_id)
            span = series.span()
            if not run_dir.is_dir() or span is None:
                continue  # a run from another state directory (or machine): no manifest to go beside
            combined = TimeSeries()
            combined.merge(series)
            _add_failed_items(settings, run_id, combined)
            for second, entry in self.host.seconds.items():
                if span[0] <= second <= span[1]:
                    combined.at(second).merge(entry)
            path = pipeline_series_file(run_dir, self.host_id)
            write_series(combined, path)
            written.append(path)
        return written


def _add_failed_items(settings: Settings, run_id: str, series: TimeSeries) -> None:
    """The run's failed items by error code and the second the pipeline recorded them (`created_at`, in
    the batch's transaction), read once when the host stops: polling by id or time while batches commit
    concurrently could miss one, and the count must be exact."""
    import psycopg

    from paysim_cli.db import connect

    try:
        with connect(settings, autocommit=True, application_name="paysim pipeline host") as conn:
            rows = conn.execute(
                "SELECT floor(extract(epoch FROM created_at))::bigint, error_code, count(*) "
                "FROM failed_items WHERE run_id = %s GROUP BY 1, 2",
                (run_id,),
            ).fetchall()
    except (PaysimError, psycopg.Error) as error:  # a report's detail: never fail the host's stop over it
        logger.warning("run %s: failed items not in its series: %s", run_id, error)
        return
    for second, code, count in rows:
        series.add(int(second), FAILED_ITEM_PREFIX + code, int(count))

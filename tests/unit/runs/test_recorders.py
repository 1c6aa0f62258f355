"""The host's recorder turns its workers' cumulative counters into exact per-second figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paysim_cli.latency import LatencyHistogram
from paysim_cli.pipeline.consumer import ConsumerStats
from paysim_cli.pipeline.host import PartitionLag
from paysim_cli.runs.layout import run_directory
from paysim_cli.runs.recorders import HostRecorder, SimulateRecorder
from paysim_cli.runs.series import read_series
from paysim_cli.settings import Settings
from paysim_cli.simulator.generator import EventKind


def _stats(worker: int, events: int, latencies: list[float], run_id: str = "run-1") -> ConsumerStats:
    histogram = LatencyHistogram()
    histogram.record(np.array(latencies))
    return ConsumerStats(worker=worker, events=events, latency={run_id: histogram})


def _lag(partition: str, lag: int) -> PartitionLag:
    return PartitionLag(
        partition_id=partition, last_enqueued_sequence_number=lag, checkpoint_sequence_number=0, lag=lag
    )


def test_each_sample_holds_what_was_committed_since_the_last(settings: Settings) -> None:
    recorder = HostRecorder("host-a")
    recorder.sample([_stats(0, 2, [0.1, 0.2])], [_lag("0", 5), _lag("1", 3)], wall=100.2)
    # A second worker appears, the first goes on: only the new events count in second 101.
    recorder.sample(
        [_stats(0, 3, [0.1, 0.2, 0.3]), _stats(1, 1, [0.4])], [_lag("0", 1), _lag("1", 0)], wall=101.7
    )
    recorder.sample(
        [_stats(0, 3, [0.1, 0.2, 0.3]), _stats(1, 1, [0.4])], [_lag("0", 0), _lag("1", 0)], wall=102.1
    )

    run = recorder.runs["run-1"]
    assert {second: entry.counters["processed"] for second, entry in run.seconds.items()} == {100: 2, 101: 2}
    assert run.total_histogram("e2e").total == 4
    assert recorder.host.seconds[100].gauges == {"lag:0": 5, "lag:1": 3}
    assert recorder.host.counter("processed_all") == 4

    run_directory(settings, "run-1").mkdir(parents=True)
    written = recorder.write(settings)  # no database configured: the series still gets written
    assert [path.name for path in written] == ["pipeline-host-a.json"]
    series = read_series(written)
    assert series.counter("processed") == 4
    assert series.seconds[101].gauges == {"lag:0": 1, "lag:1": 0}
    assert 102 not in series.seconds  # the host's seconds after the run's last event are not the run's


def test_a_run_of_another_state_directory_gets_no_file(settings: Settings) -> None:
    recorder = HostRecorder("host-b")
    recorder.sample([_stats(0, 1, [0.1], run_id="elsewhere")], [], wall=5.0)
    assert recorder.write(settings) == []


class Rates:
    """A schedule whose rate grows by 1/s from 500, planned to end after 3 s."""

    planned_end = 3.0

    def rate_at(self, moment: float) -> float:
        return 500.0 + moment


def test_the_simulate_recorder_counts_by_second(tmp_path: Path) -> None:
    recorder = SimulateRecorder(tmp_path, worker=3, wall_start=1000.0)
    intended = np.array([0.2, 0.9, 1.1, 1.5])
    kinds = np.array([EventKind.VALID, EventKind.MALFORMED, EventKind.DUPLICATE, EventKind.VALID])
    recorder.target(0.5, Rates())  # once a second: the workers' shares add up when merged
    recorder.target(0.9, Rates())
    recorder.delivered(1.6, intended, kinds)
    recorder.undelivered(2.5, np.array([2.0]))
    recorder.write()

    series = read_series([tmp_path / "series" / "simulate-3.json"])
    assert series.seconds[1000].counters == {"target_rate": 500.0, "intended": 2}
    assert series.seconds[1001].counters == {"intended": 2, "sent": 4, "malformed": 1, "duplicates": 1}
    recorder.target(4.2, Rates())  # a publish took seconds: the seconds it skipped get their rate too
    assert [
        series_entry.counters["target_rate"]
        for _, series_entry in sorted(recorder.series.seconds.items())
        if "target_rate" in series_entry.counters
    ] == [500.0, 501.0, 502.0, 0.0, 0.0]
    assert series.seconds[1002].counters == {"intended": 1, "failed": 1}
    assert series.seconds[1001].histograms["publish"].total == 4

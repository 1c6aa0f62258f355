"""The run's own lag against the backlog, and the stall clock, from the positions a monitor samples."""

from __future__ import annotations

import time

from paysim_cli.errors import PaysimError
from paysim_cli.faults.monitor import Positions, ProgressMonitor, hub_ends, run_lag, total_lag


def test_the_runs_lag_counts_only_events_after_the_hubs_ends_at_its_start() -> None:
    start = hub_ends({"0": (999_999, None), "1": (499, 499)})
    now: Positions = {"0": (1_000_099, 2_000), "1": (599, 549)}
    assert run_lag(now, start) == 100 + 50  # the million older events of partition 0 are not the run's
    assert total_lag(now) == 998_099 + 50
    assert run_lag({"0": (1_000_099, 1_000_099), "1": (599, 599)}, start) == 0
    assert run_lag({"2": (9, None)}, {}) == 10  # a partition without checkpoint: everything it holds


class _Hub:
    """What the monitor reads, as a test sets it: the positions, or a failing read."""

    def __init__(self, positions: Positions) -> None:
        self.positions: Positions | None = positions

    def read(self) -> Positions:
        if self.positions is None:
            raise PaysimError("hub_unavailable", "down", None)
        return self.positions


def test_a_stall_is_events_waiting_while_no_checkpoint_moves_and_idle_is_not_one() -> None:
    hub = _Hub({"0": (10, 10)})
    monitor = ProgressMonitor(hub.read, hub_ends(hub.positions or {}))
    monitor.close()  # sampled by hand from here on
    monitor.sample()
    time.sleep(0.3)
    monitor.sample()
    assert monitor.longest_stall.seconds < 0.1  # caught up: nothing to do is no stall
    hub.positions = {"0": (20, 12)}
    monitor.sample()
    commits, lag, backlog = monitor.snapshot()
    assert (lag, backlog) == (8, 0)
    hub.positions = None  # the checkpoint store is down: no progress, the lag as last seen
    time.sleep(0.3)
    monitor.sample()
    assert monitor.read_errors == 1
    assert monitor.last_read_error == "down"
    assert monitor.longest_stall.seconds >= 0.25
    hub.positions = {"0": (20, 20)}
    monitor.sample()
    assert monitor.snapshot()[0] == commits + 1
    assert monitor.caught_up()
    assert monitor.max_lag == 8

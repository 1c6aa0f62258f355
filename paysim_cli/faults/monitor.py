"""The pipeline watched from outside, as the faults strike: the consumer group's checkpoints against
the hub's last events, sampled from a thread. It sees a host that was killed, a database that is down
or a stalled partition alike: the checkpoints stop moving while events wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from paysim_cli.errors import PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.settings import Settings

SAMPLE_SECONDS = 0.25
# Partition id -> (last enqueued sequence number, the group's checkpoint or None).
Positions = dict[str, tuple[int, int | None]]


def run_lag(positions: Positions, start: dict[str, int]) -> int:
    """Events of the run not yet committed: those after `start` (the hub's ends when the run began)
    and after the checkpoint. Older events are the backlog, not the run's lag."""
    lag = 0
    for partition_id, (last, checkpoint) in positions.items():
        done = max(checkpoint if checkpoint is not None else -1, start.get(partition_id, -1))
        lag += max(0, last - done)
    return lag


def total_lag(positions: Positions) -> int:
    return run_lag(positions, {})


def hub_ends(positions: Positions) -> dict[str, int]:
    return {partition_id: last for partition_id, (last, _) in positions.items()}


def position_reader(
    settings: Settings, transport: HubTarget
) -> tuple[Callable[[], Positions], Callable[[], None]]:
    """How to read the group's positions on `transport`, and how to close what reading opened."""
    if transport is HubTarget.EVENTHUB:
        from paysim_cli.hub.lag import EventHubLag
        from paysim_cli.pipeline.eventhub_source import CHECKPOINT_CONTAINER

        lag = EventHubLag(settings, settings.consumer_group, CHECKPOINT_CONTAINER)

        def read_eventhub() -> Positions:
            return {
                item.partition_id: (item.last_enqueued_sequence_number, item.checkpoint_sequence_number)
                for item in lag.read()
            }

        return read_eventhub, lag.close
    from paysim_cli.hub.operations import describe_hub

    def read_local() -> Positions:
        hub = describe_hub(settings, HubTarget.LOCAL)
        return {
            item.partition_id: (item.last_enqueued_sequence_number, item.checkpoint_sequence_number)
            for item in hub.partitions
        }

    return read_local, lambda: None


@dataclass
class Stall:
    seconds: float = 0.0
    started_at: float = 0.0  # seconds into the run


@dataclass
class ProgressMonitor:
    """Samples `read` every SAMPLE_SECONDS until closed; what it saw, safe to read from any thread."""

    read: Callable[[], Positions]
    start: dict[str, int]  # the hub's ends when the run began
    began: float = field(default_factory=time.monotonic)
    commits: int = 0  # samples at which some checkpoint had moved
    last_progress_at: float = field(default_factory=time.monotonic)
    lag: int = 0  # the run's, at the last good sample
    backlog: int = 0  # older events not yet committed, at the last good sample
    max_lag: int = 0
    longest_stall: Stall = field(default_factory=Stall)
    read_errors: int = 0
    last_read_error: str | None = None
    _checkpoints: dict[str, int | None] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="paysim-fault-monitor", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def sample(self) -> None:
        try:
            positions = self.read()
        except PaysimError as error:  # the hub or the checkpoint store is down: no progress seen
            with self._lock:
                self.read_errors += 1
                self.last_read_error = error.message
            positions = None
        with self._lock:
            self._take(positions, time.monotonic())

    def _take(self, positions: Positions | None, now: float) -> None:
        if positions is not None:
            checkpoints = {partition_id: checkpoint for partition_id, (_, checkpoint) in positions.items()}
            if checkpoints != self._checkpoints:
                self._checkpoints = checkpoints
                self.commits += 1
                self.last_progress_at = now
            self.lag = run_lag(positions, self.start)
            self.backlog = total_lag(positions) - self.lag
            self.max_lag = max(self.max_lag, self.lag)
        if self.lag + self.backlog == 0:
            self.last_progress_at = now  # nothing to do is not a stall
        stalled = now - self.last_progress_at
        if stalled > self.longest_stall.seconds:
            self.longest_stall = Stall(round(stalled, 2), round(self.last_progress_at - self.began, 2))

    def snapshot(self) -> tuple[int, int, int]:
        """(commits seen, the run's lag, the backlog), for waiting on progress."""
        with self._lock:
            return self.commits, self.lag, self.backlog

    def caught_up(self) -> bool:
        _, lag, backlog = self.snapshot()
        return lag + backlog == 0

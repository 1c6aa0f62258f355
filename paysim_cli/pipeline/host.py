"""`paysim pipeline run` as a service: a supervised pool of worker processes hosts the function over
the local event log (or Event Hubs).

The workers share the consumer group through the log's partition leases; the parent collects their
counters, restarts a worker that crashed, measures the group's lag from the hub's checkpoints, and
stops them on request, on Ctrl-C or, with `until_drained`, once every partition has stayed caught up
for a grace period.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from types import TracebackType

from paysim_cli.errors import PaysimError
from paysim_cli.hub.lag import EventHubLag, LocalLag, PartitionLag
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.targets import HubTarget
from paysim_cli.interrupts import Interruption, stop_on_signals
from paysim_cli.latency import LatencyHistogram
from paysim_cli.logs import configure_worker_logging
from paysim_cli.migrations.engine import require_migrated
from paysim_cli.pipeline.consumer import (
    ConsumerPlan,
    ConsumerStats,
    retrying_partitions,
    run_consumer,
)
from paysim_cli.pipeline.loader import DEFAULT_FUNCTION_DIR, app_settings, script_path
from paysim_cli.pipeline.release import ReleaseTracker, describe, read_active, release_dir
from paysim_cli.pipeline.report import HostProgress, HostStatus, PipelineReport, RunLatency
from paysim_cli.pipeline.request import PipelineRequest
from paysim_cli.runs.recorders import HostRecorder
from paysim_cli.secrets import mask_secrets
from paysim_cli.settings import Settings
from paysim_cli.worker_process import (
    RestartBudget,
    WorkerChannel,
    WorkerExit,
    WorkerMessage,
    WorkerPool,
    reported_error,
)

POLL_SECONDS = 0.5
EVENTHUB_LAG_SECONDS = 1.0
# How long stopping waits for workers to finish the invocation in flight before killing them.
STOP_TIMEOUT_SECONDS = 60.0

logger = logging.getLogger(__name__)
# What every worker imports anyway (the shipped Function app's too), loaded once by the fork server.
WORKER_MODULES = {
    HubTarget.LOCAL: (
        "paysim_cli.pipeline.consumer",
        "paysim_cli.pipeline.loader",
        "paysim_pipeline.processor",
    ),
    HubTarget.EVENTHUB: (
        "paysim_cli.pipeline.consumer",
        "paysim_cli.pipeline.loader",
        "paysim_pipeline.processor",
        "paysim_cli.pipeline.eventhub_source",
        "azure.eventhub",
        "azure.eventhub.extensions.checkpointstoreblob",
    ),
}


class PipelineHost:
    """The supervised worker processes and what they report. Use as a context manager: leaving it
    stops them.

    A worker that crashes once the function app has loaded (killed, out of memory, an unexpected error)
    is started again after a backoff, under the same lease owner id, so it takes its partitions back at
    once and resumes from their checkpoints; more crashes than `request.restarts` allows within its
    window end the host (`worker_restart_limit`). Before any worker has loaded the app, a failure is
    final: every restart would fail the same way.
    """

    def __init__(self, settings: Settings, request: PipelineRequest) -> None:
        self.settings, self.request = settings, request
        self.function_dir = request.function_dir or DEFAULT_FUNCTION_DIR
        self.consumer_group = request.consumer_group or settings.consumer_group
        self.follows_releases = follows_releases(request)
        active = read_active(settings.state_dir) if self.follows_releases else None
        self.hosting = hosting(settings, request)
        # Fail before spawning anything: no app, no database or blob settings, no hub.
        script_path(self.function_dir if active is None else release_dir(settings.state_dir, active.version))
        if request.function_dir is None:
            require_migrated(settings)  # the project's app writes paysim's tables; a test app may not
        app_settings(settings, self.consumer_group)
        self._eventhub_lag: EventHubLag | None = None
        if request.source is HubTarget.EVENTHUB:
            from paysim_cli.pipeline.eventhub_source import CHECKPOINT_CONTAINER, prepare_checkpoint_store

            prepare_checkpoint_store(settings)
            self._eventhub_lag = EventHubLag(settings, self.consumer_group, CHECKPOINT_CONTAINER)
        else:
            LocalEventLog.open(settings.event_log_path).close()
        host_id = uuid.uuid4().hex[:12]
        self._plans = [
            ConsumerPlan(
                worker=worker,
                settings=settings,
                function_dir=self.function_dir,
                function_name=request.function_name,
                consumer_group=self.consumer_group,
                batch_size=request.batch_size,
                max_wait_seconds=request.max_wait_ms / 1000,
                source=request.source,
                workers=request.workers,
                owner_id=f"paysim-host-{host_id}-{worker}",
                follow_releases=self.follows_releases,
            )
            for worker in range(request.workers)
        ]
        self.pid_file = host_pid_file(settings.state_dir, os.getpid())
        self._pool: WorkerPool | None = None
        self._budget = RestartBudget(request.restarts)
        self._stats: dict[int, ConsumerStats] = {}  # each worker's running process
        self._retired: list[ConsumerStats] = []  # worker processes that ended
        self._failures: dict[int, PaysimError] = {}  # an error report, acted on at the worker's exit
        self._ready: set[int] = set()
        self._app_loaded = False
        self._stopping = False
        self._last_crash: str | None = None
        self._started = 0.0
        self._max_lag = 0
        # Since when (monotonic) every partition has been caught up; None while any lags.
        self.caught_up_since: float | None = None
        self._partitions: list[PartitionLag] = []
        self._lag_read_at = -math.inf
        self.series = HostRecorder(host_id)  # written beside each run's manifest when the host stops

    def __enter__(self) -> PipelineHost:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._shut_down()
        if self._eventhub_lag is not None:
            self._eventhub_lag.close()

    def start(self) -> None:
        """Spawn the workers; each loads the function app itself."""
        self._pool = WorkerPool(
            _consumer_main,
            self._plans,
            name="paysim-pipeline",
            hint="its traceback is above; rerun with --workers 1 to narrow it down",
            preload=WORKER_MODULES[self.request.source],
            pid_file=self.pid_file,
        )
        self._started = time.monotonic()
        self._pool.start()

    def worker_pids(self) -> dict[int, int]:
        """The pid of each worker process running now (also in `pid_file`, for other processes)."""
        return self._pool.pids() if self._pool is not None else {}

    def poll(self, timeout: float = POLL_SECONDS) -> HostProgress:
        """Collect the workers' reports for up to `timeout` seconds, restarting crashed workers; the
        progress so far, with the lag."""
        self._collect(timeout)
        return self._progress()

    def _collect(self, timeout: float) -> None:
        assert self._pool is not None, "start the host first"
        deadline = time.monotonic() + timeout
        while True:
            for message in self._pool.receive(max(0.0, deadline - time.monotonic())):
                self._receive(message)
            if time.monotonic() >= deadline:
                return

    def wait_ready(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Wait until every worker has loaded the function app (`worker_not_ready` after `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(self._ready) < self.request.workers:
            if time.monotonic() >= deadline:
                raise PaysimError(
                    "worker_not_ready",
                    f"{self.request.workers - len(self._ready)} pipeline workers did not load the "
                    f"function app within {timeout:.0f} s",
                    "import the app by hand (`python -c 'import function_app'` in its directory) to see why",
                )
            self._collect(POLL_SECONDS)

    def run_until(
        self,
        *,
        until_drained: bool,
        should_stop: Callable[[], bool],
        on_progress: Callable[[HostProgress], None] | None = None,
        timeout: float | None = None,
    ) -> HostStatus:
        """Poll until Ctrl-C (`should_stop`), drained (when asked) or `timeout` seconds have passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.caught_up_since = None  # caught up before this call proves nothing about now
        self._lag_read_at = -math.inf  # nor does a lag read before it
        progress = self.poll(0)  # the first look at once, then one every POLL_SECONDS
        while True:
            if on_progress is not None:
                on_progress(progress)
            if should_stop():
                return "interrupted"
            if until_drained and self._drained(progress):
                return "drained"
            if deadline is not None and time.monotonic() >= deadline:
                return "timed_out"
            progress = self.poll()

    def stop(self, status: HostStatus, interrupted_by: str | None = None) -> PipelineReport:
        """Let the workers finish their invocations in flight, collect their counters, report."""
        assert self._pool is not None, "start the host first"
        self._stopping = True
        self._pool.stop()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while self._pool.running() and (remaining := deadline - time.monotonic()) > 0:
            self._collect(min(POLL_SECONDS, remaining))
        self._shut_down()
        report = self._report(status).model_copy(update={"interrupted_by": interrupted_by})
        self.series.write(self.settings)
        return report

    def _receive(self, message: WorkerMessage) -> None:
        worker, payload = message.worker, message.payload
        if message.kind == "ready":
            self._ready.add(worker)
            self._app_loaded = True
        elif message.kind in ("progress", "result"):
            self._stats[worker] = payload
        elif message.kind == "error":
            self._failures[worker] = reported_error(payload, f"pipeline worker {worker}")
        elif message.kind == "exited":
            self._ended(worker, payload)

    def _ended(self, worker: int, ended: WorkerExit) -> None:
        """A worker process ended: as asked, or a crash to restart from (or to give up on)."""
        assert self._pool is not None
        self._ready.discard(worker)
        stats = self._stats.pop(worker, None)
        if stats is not None:
            self._retired.append(stats)
        failure = self._failures.pop(worker, None)
        if self._stopping:
            if failure is not None:
                self._last_crash = failure.message
            return
        cause = failure or ended.crash(
            f"pipeline worker {worker}", "see its output above; rerun with --workers 1 to narrow it down"
        )
        self._last_crash = cause.message
        if not self._app_loaded:
            raise cause
        delay = self._budget.delay(worker, time.monotonic())
        policy = self._budget.policy
        if delay is None:
            raise PaysimError(
                "worker_restart_limit",
                f"pipeline workers crashed {self._budget.recent} times within {policy.window_seconds:g} s, "
                f"more than the {policy.limit} restarts allowed; the last: {cause.message}",
                cause.hint or "see the workers' output above",
                exit_code=cause.exit_code,
            )
        logger.warning(mask_secrets(f"{cause.message}; restarting it in {delay:.2f} s"))
        self._pool.restart(worker, after=delay)

    def _all_stats(self) -> list[ConsumerStats]:
        return [*self._retired, *self._stats.values()]

    def _read_lag(self) -> list[PartitionLag]:
        """Each partition's last enqueued sequence number against the group's checkpoint."""
        if self._eventhub_lag is not None:
            # Management calls take ~0.4 s: at most one read a second, however often the host polls.
            now = time.monotonic()
            if now - self._lag_read_at >= EVENTHUB_LAG_SECONDS:
                self._partitions = self._eventhub_lag.read()
                self._lag_read_at = now
            return self._partitions
        with closing(LocalLag(self.settings, self.consumer_group)) as lag:
            return lag.read()

    def _progress(self) -> HostProgress:
        self._partitions = self._read_lag()
        lag = sum(partition.lag for partition in self._partitions)
        self._max_lag = max(self._max_lag, lag)
        stats = self._all_stats()
        self.series.sample(stats, self._partitions)
        return HostProgress(
            elapsed=round(time.monotonic() - self._started, 3),
            workers_ready=len(self._ready),
            restarts=self._budget.restarts,
            last_crash=self._last_crash,
            events=sum(item.events for item in stats),
            batches=sum(item.batches for item in stats),
            failed_invocations=sum(item.failed_invocations for item in stats),
            last_error=next((item.last_error for item in stats if item.last_error), None),
            lag=lag,
            partitions=self._partitions,
            latency_ms=_merged(stats, None).summary(),
            retrying=retrying_partitions(stats),
        )

    def _drained(self, progress: HostProgress) -> bool:
        """Every partition checkpointed up to its last event, and still so after the grace period."""
        if progress.lag > 0:
            self.caught_up_since = None
            return False
        now = time.monotonic()
        if self.caught_up_since is None:
            self.caught_up_since = now
        return now - self.caught_up_since >= self.request.drain_grace_seconds

    def _shut_down(self) -> None:
        """Stop the workers; those still running after the timeout are killed."""
        if self._pool is not None:
            self._pool.shutdown(STOP_TIMEOUT_SECONDS)

    def _report(self, status: HostStatus) -> PipelineReport:
        progress = self._progress()
        stats = self._all_stats()
        starts = [item.first_batch_at for item in stats if item.first_batch_at is not None]
        ends = [item.last_commit_at for item in stats if item.last_commit_at is not None]
        busy = max(ends) - min(starts) if starts and ends else 0.0
        run_ids = sorted({run_id for item in stats for run_id in item.latency})
        runs = []
        for run_id in run_ids:
            histogram = _merged(stats, run_id)
            runs.append(RunLatency(run_id=run_id, events=histogram.total, latency_ms=histogram.summary()))
        return PipelineReport(
            source=self.request.source,
            function=self.request.function_name,
            function_dir=self.function_dir,
            consumer_group=self.consumer_group,
            workers=self.request.workers,
            batch_size=self.request.batch_size,
            status=status,
            elapsed_seconds=progress.elapsed,
            events=progress.events,
            batches=progress.batches,
            failed_invocations=progress.failed_invocations,
            last_error=progress.last_error,
            throughput=round(progress.events / busy, 1) if busy > 0 else 0.0,
            lag=progress.lag,
            max_lag=self._max_lag,
            partitions=progress.partitions,
            latency_ms=progress.latency_ms,
            runs=runs,
            retrying=progress.retrying,
            restarts=progress.restarts,
            last_crash=progress.last_crash,
            hosting=self.hosting,
            releases=_final_releases(stats),
        )


def _final_releases(stats: list[ConsumerStats]) -> list[str]:
    """The releases the workers ran last: each worker's latest process counts (stats are in order)."""
    last = {item.worker: item.release for item in stats}
    return sorted({release for release in last.values() if release is not None})


def follows_releases(request: PipelineRequest) -> bool:
    """With no --function-dir nor --development the workers run the active release, and follow it."""
    return request.function_dir is None and not request.development


def hosting(settings: Settings, request: PipelineRequest) -> str:
    """What the host runs now, in words: a release, the working tree's function/, or the given app."""
    active = read_active(settings.state_dir) if follows_releases(request) else None
    return describe(active, development=request.development, function_dir=request.function_dir)


def _merged(stats: list[ConsumerStats], run_id: str | None) -> LatencyHistogram:
    """The workers' latency histograms added up, for one run or (None) for all."""
    merged = LatencyHistogram()
    for item in stats:
        for run, histogram in item.latency.items():
            if run_id is None or run == run_id:
                merged.merge(histogram)
    return merged


def run_pipeline(
    settings: Settings,
    request: PipelineRequest,
    *,
    on_progress: Callable[[HostProgress], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> PipelineReport:
    """Host the function until SIGINT/SIGTERM or, with `until_drained`, until the group has caught up.

    `on_start` hears what the host runs (a release, the working tree), once the workers are started."""
    with stop_on_signals(Interruption()) as interrupted, PipelineHost(settings, request) as host:
        if on_start is not None:
            on_start(f"hosting {host.hosting}")
        status = host.run_until(
            until_drained=request.until_drained, should_stop=interrupted.is_set, on_progress=on_progress
        )
        return host.stop(status, interrupted.signal_name if status == "interrupted" else None)


def host_pid_file(state_dir: Path, host_pid: int) -> Path:
    """Where a running host keeps its own and its workers' pids (removed when it stops)."""
    return state_dir / "pipeline" / f"host-{host_pid}.json"


def _consumer_main(channel: WorkerChannel, plan: ConsumerPlan) -> None:
    """A worker process: export the app settings, load the function, consume until told to stop."""
    configure_worker_logging(f"pipeline worker {plan.worker}")
    os.environ.update(app_settings(plan.settings, plan.consumer_group))
    tracker = ReleaseTracker(
        plan.settings.state_dir,
        plan.function_name,
        worker=plan.worker,
        function_dir=None if plan.follow_releases else plan.function_dir,
    )
    tracker.current()  # loads the app: a failure here is the worker's, before it is ready
    channel.post("ready")
    if plan.source is HubTarget.EVENTHUB:
        from paysim_cli.pipeline.eventhub_source import run_eventhub_consumer

        consume = run_eventhub_consumer
    else:
        consume = run_consumer
    try:
        stats = consume(
            plan,
            tracker,
            should_stop=channel.should_stop,
            sleep=channel.sleep,
            on_progress=lambda progress: channel.post("progress", progress),
        )
    finally:
        tracker.close()
    channel.post("result", stats)

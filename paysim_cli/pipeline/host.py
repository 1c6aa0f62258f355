"""`paysim pipeline run` as a service: worker processes host the function over the local event log.

The workers share the consumer group through the log's partition leases; the parent collects their
counters, measures the group's lag from the hub's checkpoints, and stops them on request, on Ctrl-C
or, with `until_drained`, once every partition has stayed caught up for a grace period.
"""

from __future__ import annotations

import contextlib
import math
import queue
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.operations import describe_hub
from paysim_cli.hub.targets import HubTarget
from paysim_cli.interrupts import Interruption, leave_stop_signals_to_parent, stop_on_signals
from paysim_cli.logs import configure_worker_logging
from paysim_cli.migrations.engine import require_migrated
from paysim_cli.pipeline.consumer import ConsumerPlan, ConsumerStats, run_consumer
from paysim_cli.pipeline.loader import DEFAULT_FUNCTION_DIR, app_settings, load_function, script_path
from paysim_cli.pipeline.request import PipelineRequest
from paysim_cli.settings import Settings
from paysim_cli.simulator.latency import LatencyHistogram, LatencySummary
from paysim_cli.worker_process import reporting_errors

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event

    from paysim_cli.pipeline.eventhub_source import EventHubLag

POLL_SECONDS = 0.5
EVENTHUB_LAG_SECONDS = 1.0
# How long stopping waits for workers to finish the invocation in flight before killing them.
STOP_TIMEOUT_SECONDS = 60.0

HostStatus = Literal["drained", "interrupted", "timed_out"]


class PartitionLag(BaseModel):
    partition_id: str
    last_enqueued_sequence_number: int
    checkpoint_sequence_number: int | None
    lag: int


class RunLatency(BaseModel):
    """End-to-end latency of one simulate run's events: intended send time to the function's return."""

    run_id: str
    events: int
    latency_ms: LatencySummary


class HostProgress(BaseModel):
    """All workers together, as the live view shows them."""

    elapsed: float
    workers_ready: int
    events: int
    batches: int
    failed_invocations: int
    last_error: str | None
    lag: int
    partitions: list[PartitionLag]
    latency_ms: LatencySummary


class PipelineReport(BaseModel):
    """The final report: what was delivered, how fast, how late, and what is left."""

    source: HubTarget
    function: str
    function_dir: Path
    consumer_group: str
    workers: int
    batch_size: int
    status: HostStatus
    elapsed_seconds: float
    events: int
    batches: int
    failed_invocations: int
    last_error: str | None
    throughput: float  # events/s from the first batch received to the last commit
    lag: int
    max_lag: int
    partitions: list[PartitionLag]
    latency_ms: LatencySummary
    runs: list[RunLatency]
    interrupted_by: str | None = None  # SIGINT or SIGTERM when status is interrupted


class PipelineHost:
    """The worker processes and what they report. Use as a context manager: leaving it stops them."""

    def __init__(self, settings: Settings, request: PipelineRequest) -> None:
        self.settings, self.request = settings, request
        self.function_dir = request.function_dir or DEFAULT_FUNCTION_DIR
        self.consumer_group = request.consumer_group or settings.consumer_group
        # Fail before spawning anything: no app, no database or blob settings, no hub.
        script_path(self.function_dir)
        if self.function_dir == DEFAULT_FUNCTION_DIR:
            require_migrated(settings)  # the project's app writes paysim's tables; a test app may not
        app_settings(settings, self.consumer_group)
        self._eventhub_lag: EventHubLag | None = None
        if request.source is HubTarget.EVENTHUB:
            from paysim_cli.pipeline.eventhub_source import EventHubLag, prepare_checkpoint_store

            prepare_checkpoint_store(settings)
            self._eventhub_lag = EventHubLag(settings, self.consumer_group)
        else:
            LocalEventLog.open(settings.event_log_path).close()
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
            )
            for worker in range(request.workers)
        ]
        self._processes: list[Any] = []
        self._messages: Any = None
        self._stop: Event | None = None
        self._stats: dict[int, ConsumerStats] = {}
        self._finished: set[int] = set()
        self._ready: set[int] = set()
        self._started = 0.0
        self._max_lag = 0
        # Since when (monotonic) every partition has been caught up; None while any lags.
        self.caught_up_since: float | None = None
        self._partitions: list[PartitionLag] = []
        self._lag_read_at = -math.inf

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
        """Spawn the workers (no state shared by fork); each loads the function app itself."""
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._messages = context.Queue()
        self._stop = context.Event()
        self._processes = [
            context.Process(
                target=_consumer_main,
                args=(plan, self._messages, self._stop),
                name=f"paysim-pipeline-{plan.worker}",
            )
            for plan in self._plans
        ]
        self._started = time.monotonic()
        for process in self._processes:
            process.start()

    def poll(self, timeout: float = POLL_SECONDS) -> HostProgress:
        """Collect the workers' reports for up to `timeout` seconds; the progress so far, with the lag."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = (
                    self._messages.get(timeout=remaining) if remaining > 0 else self._messages.get_nowait()
                )
            except queue.Empty:
                break
            self._receive(*message)
        self._check_workers()
        return self._progress()

    def wait_ready(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Wait until every worker has loaded the function app (`worker_not_ready` after `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(self._ready) < len(self._processes):
            if time.monotonic() >= deadline:
                raise PaysimError(
                    "worker_not_ready",
                    f"{len(self._processes) - len(self._ready)} pipeline workers did not load the function "
                    f"app within {timeout:.0f} s",
                    "import the app by hand (`python -c 'import function_app'` in its directory) to see why",
                )
            self.poll(POLL_SECONDS)

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
        if self._stop is not None:
            self._stop.set()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while len(self._finished) < len(self._processes) and time.monotonic() < deadline:
            self.poll(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        self._shut_down()
        return self._report(status).model_copy(update={"interrupted_by": interrupted_by})

    def _receive(self, kind: str, worker: int, payload: Any) -> None:
        if kind == "ready":
            self._ready.add(worker)
        elif kind in ("progress", "result"):
            self._stats[worker] = payload
            if kind == "result":
                self._finished.add(worker)
        else:
            code, message, hint, exit_code = payload
            raise PaysimError(
                code, f"pipeline worker {worker}: {message}", hint, exit_code=ExitCode(exit_code)
            )

    def _check_workers(self) -> None:
        """A worker that died without a word (killed, out of memory) is an error."""
        for worker, process in enumerate(self._processes):
            if process.exitcode not in (None, 0) and worker not in self._finished:
                raise PaysimError(
                    "worker_crashed",
                    f"pipeline worker {worker} exited with status {process.exitcode}",
                    "see its output above; rerun with --workers 1 --traceback to narrow it down",
                )

    def _read_lag(self) -> list[PartitionLag]:
        """Each partition's last enqueued sequence number against the group's checkpoint."""
        if self._eventhub_lag is not None:
            # Management calls take ~0.4 s: at most one read a second, however often the host polls.
            now = time.monotonic()
            if now - self._lag_read_at >= EVENTHUB_LAG_SECONDS:
                self._partitions = self._eventhub_lag.read()
                self._lag_read_at = now
            return self._partitions
        hub = describe_hub(self.settings, HubTarget.LOCAL, self.consumer_group)
        return [
            PartitionLag(
                partition_id=partition.partition_id,
                last_enqueued_sequence_number=partition.last_enqueued_sequence_number,
                checkpoint_sequence_number=partition.checkpoint_sequence_number,
                lag=partition.lag or 0,
            )
            for partition in hub.partitions
        ]

    def _progress(self) -> HostProgress:
        self._partitions = self._read_lag()
        lag = sum(partition.lag for partition in self._partitions)
        self._max_lag = max(self._max_lag, lag)
        stats = list(self._stats.values())
        return HostProgress(
            elapsed=round(time.monotonic() - self._started, 3),
            workers_ready=len(self._ready),
            events=sum(item.events for item in stats),
            batches=sum(item.batches for item in stats),
            failed_invocations=sum(item.failed_invocations for item in stats),
            last_error=next((item.last_error for item in stats if item.last_error), None),
            lag=lag,
            partitions=self._partitions,
            latency_ms=_merged(stats, None).summary(),
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
        if self._stop is not None:
            self._stop.set()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while any(process.is_alive() for process in self._processes) and time.monotonic() < deadline:
            # A worker exits only once what it queued is read: keep reading, discarding.
            with contextlib.suppress(queue.Empty):
                while True:
                    self._messages.get_nowait()
            for process in self._processes:
                process.join(0.05)
        for process in self._processes:
            if process.is_alive():
                process.kill()
                process.join()

    def _report(self, status: HostStatus) -> PipelineReport:
        progress = self._progress()
        stats = list(self._stats.values())
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
        )


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
) -> PipelineReport:
    """Host the function until SIGINT/SIGTERM or, with `until_drained`, until the group has caught up."""
    with stop_on_signals(Interruption()) as interrupted, PipelineHost(settings, request) as host:
        status = host.run_until(
            until_drained=request.until_drained, should_stop=interrupted.is_set, on_progress=on_progress
        )
        return host.stop(status, interrupted.signal_name if status == "interrupted" else None)


def _consumer_main(plan: ConsumerPlan, messages: Any, stop: Event) -> None:
    """A worker process: export the app settings, load the function, consume until told to stop."""
    import os

    leave_stop_signals_to_parent()
    configure_worker_logging(f"pipeline worker {plan.worker}")
    with reporting_errors(
        messages, plan.worker, "its traceback is above; rerun with --workers 1 to narrow it down"
    ):
        os.environ.update(app_settings(plan.settings, plan.consumer_group))
        function = load_function(plan.function_dir, plan.function_name)
        messages.put(("ready", plan.worker, None))
        if plan.source is HubTarget.EVENTHUB:
            from paysim_cli.pipeline.eventhub_source import run_eventhub_consumer

            consume = run_eventhub_consumer
        else:
            consume = run_consumer
        stats = consume(
            plan,
            function,
            should_stop=stop.is_set,
            sleep=stop.wait,
            on_progress=lambda progress: messages.put(("progress", plan.worker, progress)),
        )
        messages.put(("result", plan.worker, stats))

"""Worker processes, to scale a run past one core: each sends its share, the parent adds up their results.

A simulate worker is never restarted: its share of the run is a deterministic schedule from the run's
start, and a new process could neither know what its predecessor had published nor start mid-schedule
on time. A worker that fails or dies ends the run instead: the others are stopped and report, and the
failed worker's result says what it had reported sending, so the manifest covers what the rest delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paysim_cli.errors import PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.runs.manifest import ManifestCounts
from paysim_cli.settings import Settings
from paysim_cli.simulator.progress import WorkerProgress
from paysim_cli.simulator.publishing import open_target, worker_file
from paysim_cli.simulator.runner import MonotonicClock, WorkerPlan, WorkerResult, WorkerRun
from paysim_cli.worker_process import WorkerChannel, WorkerExit, WorkerMessage, WorkerPool, reported_error

# Lead time between the last worker being ready and the common start, so all start on schedule.
START_LEAD_SECONDS = 0.05
POLL_SECONDS = 0.2
JOIN_TIMEOUT_SECONDS = 30.0
CRASH_HINT = "its output is above; rerun with --workers 1 --traceback to debug it in one process"


@dataclass(frozen=True)
class _Job:
    """What a simulate worker process is handed: its plan and where to publish."""

    settings: Settings
    target: HubTarget
    output: Path | None
    plan: WorkerPlan


def run_in_processes(
    settings: Settings,
    plans: list[WorkerPlan],
    *,
    target: HubTarget,
    output: Path | None,
    should_stop: Callable[[], bool],
    on_progress: Callable[[list[WorkerProgress]], None] | None = None,
) -> list[WorkerResult]:
    """Run each plan in its own process and collect their results, one per plan.

    A worker that fails before the common start fails the run at once (nothing was sent); one that
    fails after it stops the others and gets a `worker_failed` result carrying its error.
    """
    pool = WorkerPool(
        _worker_main,
        [_Job(settings, target, output, plan) for plan in plans],
        name="paysim-simulate",
        hint=CRASH_HINT,
        preload=("paysim_cli.simulator.runner", "paysim_cli.simulator.publishing"),
    )
    run = _PoolRun(len(plans), pool, on_progress)
    pool.start()
    try:
        while pool.running():
            if not run.stopping and (should_stop() or run.failures):
                pool.stop()
                run.stopping = True
            for message in pool.receive(POLL_SECONDS):
                run.receive(message)
    finally:
        pool.shutdown(JOIN_TIMEOUT_SECONDS)
    if run.failures and not run.started:
        raise run.failures[min(run.failures)]
    return [run.result_of(plan) for plan in plans]


class _PoolRun:
    """The parent's view of the workers: who is ready, their latest progress, results and failures."""

    def __init__(
        self,
        workers: int,
        pool: WorkerPool,
        on_progress: Callable[[list[WorkerProgress]], None] | None,
    ) -> None:
        self._workers, self._pool, self._on_progress = workers, pool, on_progress
        self._ready = 0
        self.started = self.stopping = False
        self._latest: dict[int, WorkerProgress] = {}
        self._results: dict[int, WorkerResult] = {}
        self.failures: dict[int, PaysimError] = {}

    def receive(self, message: WorkerMessage) -> None:
        worker, payload = message.worker, message.payload
        if message.kind == "ready":
            self._ready += 1
            if self._ready == self._workers and not self.failures:
                self._pool.broadcast("start", time.monotonic() + START_LEAD_SECONDS)
                self.started = True
        elif message.kind == "progress":
            self._latest[worker] = payload
            if self._on_progress is not None:
                self._on_progress(list(self._latest.values()))
        elif message.kind == "result":
            self._results[worker] = payload
        elif message.kind == "error":
            self.failures[worker] = reported_error(payload, f"simulate worker {worker}")
        elif message.kind == "exited":
            ended: WorkerExit = payload
            if worker not in self._results and worker not in self.failures:
                self.failures[worker] = ended.crash(f"simulate worker {worker}", CRASH_HINT)

    def result_of(self, plan: WorkerPlan) -> WorkerResult:
        """The worker's own result, or for a failed worker what it had reported, counting nothing: what
        it published after its last report is unknown, and its counts died with it."""
        result = self._results.get(plan.worker)
        if result is not None:
            return result
        failure = self.failures[plan.worker]
        return WorkerResult(
            self._latest.get(plan.worker, WorkerProgress(worker=plan.worker)),
            ManifestCounts(),
            planned=plan.schedule().total,
            target_rate=0.0,
            stopped="worker_failed",
            error=failure.message,
            failure=failure,
        )


def _worker_main(channel: WorkerChannel, job: _Job) -> None:
    """A worker process: open its own publisher, wait for the common start, run, post its result."""
    plan = job.plan
    opened = time.monotonic()
    publisher = open_target(
        job.settings,
        job.target,
        worker_file(job.output, plan.worker, plan.workers) if job.output is not None else None,
    )
    try:
        publisher.warm_up()  # connections and links open before the common start, not after it
        prepared = WorkerRun(
            plan,
            publisher,
            MonotonicClock(),
            should_stop=channel.should_stop,
            on_progress=lambda progress: channel.post("progress", progress),
        )
        setup = time.monotonic() - opened
        channel.post("ready")
        start = channel.wait_start()
        result = prepared.run(start)
        result.setup_seconds = setup
    finally:
        publisher.close()
    channel.post("result", result)

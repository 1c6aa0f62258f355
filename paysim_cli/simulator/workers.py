"""Worker processes, to scale a run past one core: each sends its share, the parent adds up their results."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.interrupts import leave_stop_signals_to_parent
from paysim_cli.settings import Settings
from paysim_cli.simulator.progress import WorkerProgress
from paysim_cli.simulator.publishing import open_target, worker_file
from paysim_cli.simulator.runner import MonotonicClock, WorkerPlan, WorkerResult, run_worker
from paysim_cli.worker_process import reporting_errors

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized
    from multiprocessing.synchronize import Event

# Lead time between the last worker being ready and the common start, so all start on schedule.
START_LEAD_SECONDS = 0.05
POLL_SECONDS = 0.2
JOIN_TIMEOUT_SECONDS = 30.0


def run_in_processes(
    settings: Settings,
    plans: list[WorkerPlan],
    *,
    target: HubTarget,
    output: Path | None,
    should_stop: Callable[[], bool],
    on_progress: Callable[[list[WorkerProgress]], None] | None = None,
) -> list[WorkerResult]:
    """Run each plan in its own process (spawned: no state shared by fork) and collect their results."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    stop, go = context.Event(), context.Event()
    start_at = context.Value("d", 0.0)
    processes = [
        context.Process(
            target=_worker_main,
            args=(settings, target, output, plan, messages, stop, go, start_at),
            name=f"paysim-worker-{plan.worker}",
        )
        for plan in plans
    ]
    for process in processes:
        process.start()
    results: dict[int, WorkerResult] = {}
    errors: dict[int, PaysimError] = {}
    latest: dict[int, WorkerProgress] = {}
    ready = 0
    try:
        while len(results) + len(errors) < len(plans):
            if should_stop() or errors:
                stop.set()
                go.set()
            try:
                kind, worker, payload = messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                _note_crashes(processes, results, errors)
                continue
            if kind == "ready":
                ready += 1
                if ready == len(plans):
                    start_at.value = time.monotonic() + START_LEAD_SECONDS
                    go.set()
            elif kind == "progress":
                latest[worker] = payload
                if on_progress is not None:
                    on_progress(list(latest.values()))
            elif kind == "result":
                results[worker] = payload
            else:
                errors[worker] = PaysimError(*payload[:3], exit_code=ExitCode(payload[3]))
    finally:
        stop.set()
        go.set()
        for process in processes:
            process.join(JOIN_TIMEOUT_SECONDS)
            if process.is_alive():
                process.kill()  # it ignores SIGTERM (see leave_stop_signals_to_parent)
    if errors:
        raise errors[min(errors)]
    return [results[worker] for worker in sorted(results)]


def _note_crashes(
    processes: list[Any], results: dict[int, WorkerResult], errors: dict[int, PaysimError]
) -> None:
    """A worker that died without a word (killed, out of memory) is an error too."""
    for worker, process in enumerate(processes):
        if process.exitcode not in (None, 0) and worker not in results and worker not in errors:
            errors[worker] = PaysimError(
                "worker_crashed",
                f"worker process {worker} exited with status {process.exitcode}",
                "see its output above; rerun with fewer --workers to narrow it down",
            )


def _worker_main(
    settings: Settings,
    target: HubTarget,
    output: Path | None,
    plan: WorkerPlan,
    messages: Any,
    stop: Event,
    go: Event,
    start_at: Synchronized[float],
) -> None:
    """A worker process: open its own publisher, wait for the common start, run, post its result."""
    leave_stop_signals_to_parent()
    with reporting_errors(
        messages,
        plan.worker,
        "its traceback is above; rerun with --workers 1 --traceback to debug it in one process",
    ):
        publisher = open_target(
            settings, target, worker_file(output, plan.worker, plan.workers) if output is not None else None
        )
        try:
            messages.put(("ready", plan.worker, None))
            go.wait()
            result = run_worker(
                plan,
                publisher,
                clock=MonotonicClock(),
                started=start_at.value,
                should_stop=stop.is_set,
                on_progress=lambda progress: messages.put(("progress", plan.worker, progress)),
            )
        finally:
            publisher.close()
        messages.put(("result", plan.worker, result))

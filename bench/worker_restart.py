"""How long `paysim pipeline run` is a worker short after a kill -9: from the kill until the host has
started the worker again and it has loaded the Function app (function/), and how long stopping takes.

Prints figures, asserts nothing. Runs over a local event log in a temporary state directory; the app
loads without reaching its database or blob storage (it connects on its first batch), so only the
supervision and the worker's start are measured.

    .venv/bin/python bench/worker_restart.py [--kills 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.pipeline.host import PipelineHost, PipelineRequest
from paysim_cli.settings import Settings
from paysim_cli.worker_process import RestartPolicy


def back_after_kill(host: PipelineHost, worker: int) -> float:
    """Seconds from kill -9 of `worker` until every worker is ready again."""
    killed = host.worker_pids()[worker]
    started = time.monotonic()
    os.kill(killed, signal.SIGKILL)
    while True:
        progress = host.poll(0.01)
        if (
            host.worker_pids().get(worker, killed) != killed
            and progress.workers_ready == host.request.workers
        ):
            return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paysim-bench-") as directory:
        settings = Settings(
            state_dir=Path(directory),
            database_url="postgresql://postgres@127.0.0.1:1/unused",
            blob_connection_string="UseDevelopmentStorage=true",
        )
        LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
        # No limit and the shortest backoff: the figure is the restart itself.
        request = PipelineRequest(
            workers=arguments.workers, restarts=RestartPolicy(limit=10_000, base_delay=0, max_delay=0)
        )
        with PipelineHost(settings, request) as host:
            started = time.monotonic()
            host.wait_ready()
            first = time.monotonic() - started
            backs = [back_after_kill(host, kill % arguments.workers) for kill in range(arguments.kills)]
            stopping = time.monotonic()
            host.stop("interrupted")
            stopped = time.monotonic() - stopping
    print(f"{arguments.workers} workers ready after start:  {first:.2f} s")
    print(
        f"back after kill -9 ({arguments.kills} kills):  median {statistics.median(backs):.2f} s, "
        f"max {max(backs):.2f} s"
    )
    print(f"stop (idle workers):             {stopped:.2f} s")
    print(f"load average (1 min):            {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

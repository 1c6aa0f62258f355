"""The AMQP endpoint through the unmodified azure-eventhub SDK: rates and CPU per event, 1 and 2 processes.

Prints figures, asserts nothing. The endpoint runs as `paysim local up` runs it (its own process) over a
fresh local event log with 4 partitions. Publishers are separate processes released together, each
filling `EventDataBatch`es of ~400-byte payment events (with the simulator's two application
properties) for its share of the partitions; the rate is all
their events over the wall time from release to the last one's finish. Receivers read their share of
the partitions from the start with `receive_batch`, likewise.

CPU cost per event is CPU time (user + system) over events, measured apart from wall time so it holds on
a loaded machine: the endpoint's process during each phase (`endpoint publish` / `endpoint deliver`),
and the client processes' own (`SDK send` / `SDK receive`, the SDK's Python work per event). Last, one
`paysim simulate --target eventhub --workers 1` process's CPU per event (generating, the SDK, paysim's
publisher: a long run less a short one, so start-up cancels out), and the rate one worker sustains at
half a core, the ceiling `simulate` divides a rate by to choose its workers (simulator/workers.py).

    .venv/bin/python bench/amqp.py [--events 40000] [--processes 1 2] [--before /tmp/paysim-main]

With `--before DIR` (a checkout of older code, e.g. `git archive main`), the same phases run first with
that code's endpoint (its own log schema, no key) and simulate worker, under the same load: a
before/after in one run. The SDK clients are the same in both.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import psutil

# The same payment events as bench/hub.py.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hub import payment_body

from paysim_cli.local.amqp import MODULE, EndpointProcess
from paysim_cli.local.processes import free_port, start_service, terminate
from paysim_cli.local.state import eventhub_connection_string

PARTITIONS = 4
BENCH_KEY = "YmVuY2gta2V5"
# Span (start, end) of the timed part, and the CPU seconds the process spent in it.
Report = tuple[float, float, float]


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def publish(
    connection_string: str,
    partitions: list[str],
    count: int,
    start: Event,
    done: multiprocessing.Queue[Report],
) -> None:
    from azure.eventhub import EventData, EventHubProducerClient

    from paysim_cli.hub.amqp.codec import LONG, TYPE, VALUE

    bodies = [payment_body(number) for number in range(count)]
    # What the simulator's events carry (its run id, each event's intended send time as an AMQP long).
    properties: list[dict[str | bytes, Any]] = [
        {"run_id": "bench", "intended_ms": {TYPE: LONG, VALUE: 1_764_600_000_000 + n}} for n in range(count)
    ]
    with EventHubProducerClient.from_connection_string(connection_string) as client:
        for partition in partitions:  # opens each partition's link before the clock starts
            client.send_event(EventData(b"warm-up"), partition_id=partition)
        batches = {partition: client.create_batch(partition_id=partition) for partition in partitions}
        start.wait()
        began, cpu = time.perf_counter(), _cpu_seconds()
        for number, body in enumerate(bodies):
            partition = partitions[number % len(partitions)]
            event = EventData(body)
            event.properties = properties[number]
            try:
                batches[partition].add(event)
            except ValueError:  # full: send it and start the next
                client.send_batch(batches[partition])
                batches[partition] = client.create_batch(partition_id=partition)
                batches[partition].add(event)
        for batch in batches.values():
            if len(batch):
                client.send_batch(batch)
        done.put((began, time.perf_counter(), _cpu_seconds() - cpu))


def receive(
    connection_string: str,
    partitions: list[str],
    count: int,
    start: Event,
    done: multiprocessing.Queue[Report],
) -> None:
    import threading

    from azure.eventhub import EventHubConsumerClient

    count += len(partitions)  # the publishers' warm-up events
    received = 0
    first_arrival = 0.0
    finished = threading.Event()
    lock = threading.Lock()

    def on_batch(_context: object, events: list[object]) -> None:
        nonlocal received, first_arrival
        with lock:
            first_arrival = first_arrival or time.perf_counter()
            received += len(events)
            if received >= count:
                finished.set()

    client = EventHubConsumerClient.from_connection_string(
        connection_string, consumer_group="$Default", load_balancing_interval=0.5
    )
    start.wait()
    cpu = _cpu_seconds()
    threads = [
        threading.Thread(
            target=client.receive_batch,
            kwargs={
                "on_event_batch": on_batch,
                "partition_id": partition,
                "starting_position": "-1",
                "max_batch_size": 300,
                "prefetch": 1000,
            },
            daemon=True,
        )
        for partition in partitions
    ]
    for thread in threads:
        thread.start()
    finished.wait()
    # From the first event to the last: opening the links is not receiving (their CPU is counted).
    done.put((first_arrival, time.perf_counter(), _cpu_seconds() - cpu))
    client.close()


@dataclass(frozen=True)
class Phase:
    rate: float  # events/s, all processes together
    client_us: float  # the clients' CPU µs per event
    endpoint_us: float  # the endpoint's CPU µs per event


def run(
    target: Callable[..., None], connection_string: str, endpoint: psutil.Process, processes: int, events: int
) -> Phase:
    """`processes` processes sharing the partitions and the events evenly: the rate from the earliest
    start any of them reports to the latest finish, and the CPU each side spent per event."""
    start = multiprocessing.Event()
    done: multiprocessing.Queue[Report] = multiprocessing.Queue()
    shares = [[str(p) for p in range(PARTITIONS) if p % processes == worker] for worker in range(processes)]
    workers = [
        multiprocessing.Process(
            target=target, args=(connection_string, share, events // processes, start, done)
        )
        for share in shares
    ]
    for worker in workers:
        worker.start()
    time.sleep(5)  # clients connected and links open before the clock starts
    before = endpoint.cpu_times()
    start.set()
    reports = [done.get(timeout=600) for _ in workers]
    after = endpoint.cpu_times()
    for worker in workers:
        worker.join(timeout=60)
    endpoint_seconds = (after.user + after.system) - (before.user + before.system)
    return Phase(
        rate=events / (max(end for _, end, _ in reports) - min(begin for begin, _, _ in reports)),
        client_us=sum(cpu for _, _, cpu in reports) / events * 1e6,
        endpoint_us=endpoint_seconds / events * 1e6,
    )


@dataclass(frozen=True)
class Code:
    """The code the endpoint and the simulate worker run: this tree, or another on PYTHONPATH (`--before`)."""

    label: str
    root: Path | None = None

    def environment(self, **variables: str) -> dict[str, str]:
        environment = {**os.environ, **variables}
        if self.root is not None:
            environment["PYTHONPATH"] = f"{self.root}:{self.root / 'function'}"
        return environment

    def create_log(self, event_log: Path) -> None:
        """A fresh log as that code writes it (its own schema)."""
        import subprocess

        script = "import sys, pathlib; from paysim_cli.hub.local_log import LocalEventLog as Log; "
        script += f"Log.create(pathlib.Path(sys.argv[1]), {PARTITIONS}).close()"
        command = [sys.executable, "-c", script, str(event_log)]
        subprocess.run(command, env=self.environment(), check=True, cwd=event_log.parent)

    def start_endpoint(self, directory: Path, event_log: Path) -> tuple[int, str]:
        """The endpoint as `paysim local up` starts it (its own process; keyed, for this tree); its pid
        and connection string."""
        if self.root is None:
            state = EndpointProcess(directory / "amqp", event_log).start(free_port(), "payments", BENCH_KEY)
            return state.pid, eventhub_connection_string(state.port, "payments", BENCH_KEY)
        port = free_port()
        command = [sys.executable, "-m", MODULE, "--event-log", str(event_log), "--port", str(port)]
        log_file = directory / "amqp.log"
        pid = start_service(
            command,
            port=port,
            log_file=log_file,
            code="amqp",
            label="the endpoint",
            timeout=60,
            env=self.environment(),
        )
        return pid, eventhub_connection_string(port, "payments", None)


def simulate_worker_us(code: Code, connection_string: str, directory: Path, events: int) -> float:
    """CPU µs per event of one `paysim simulate --target eventhub` worker process."""
    import subprocess

    environment = code.environment(
        PAYSIM_STATE_DIR=str(directory / "simulate"), PAYSIM_EVENTHUB_CONNECTION_STRING=connection_string
    )

    def cpu_seconds(count: int) -> float:
        paysim = str(Path(sys.executable).with_name("paysim"))
        command = [paysim, "simulate", "--transport", "eventhub", "--workers", "1", "--count", str(count)]
        command += ["--rate", "1000000", "--throughput-units", "1000", "--seed", "1", "--json"]
        process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
        # wait4: this child's own CPU, whatever else this process has waited for.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}")
        return usage.ru_utime + usage.ru_stime

    return (cpu_seconds(events + 2_000) - cpu_seconds(2_000)) / events * 1e6


def measure(code: Code, options: argparse.Namespace) -> dict[str, float]:
    """Every phase with `code`'s endpoint and simulate worker, printed; the CPU µs per event of each
    component (with the most client processes) returned for the closing comparison."""
    worker_us = 0.0
    figures: dict[str, float] = {}
    for processes in options.processes:
        with tempfile.TemporaryDirectory() as directory:
            event_log = Path(directory) / "hub" / "events.db"
            event_log.parent.mkdir()
            code.create_log(event_log)
            pid, connection_string = code.start_endpoint(Path(directory), event_log)
            try:
                process = psutil.Process(pid)
                published = run(publish, connection_string, process, processes, options.events)
                received = run(receive, connection_string, process, processes, options.events)
                if processes == options.processes[-1]:
                    worker_us = simulate_worker_us(code, connection_string, Path(directory), options.events)
            finally:
                terminate(pid, timeout=5)
        figures = {
            "SDK send": published.client_us,
            "endpoint publish": published.endpoint_us,
            "endpoint deliver": received.endpoint_us,
            "SDK receive": received.client_us,
        }
        label = f"{code.label}, {processes} client process{'es' if processes > 1 else ''}"
        print(
            f"{label}: {options.events:,} events of ~400 bytes, {PARTITIONS} partitions, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
            f"  publish: {published.rate:>9,.0f} events/s   CPU per event: "
            f"SDK send {published.client_us:6.1f} µs, endpoint publish {published.endpoint_us:6.1f} µs\n"
            f"  receive: {received.rate:>9,.0f} events/s   CPU per event: "
            f"SDK receive {received.client_us:6.1f} µs, endpoint deliver {received.endpoint_us:6.1f} µs",
            flush=True,
        )
    print(
        f"{code.label}: simulate --target eventhub, one worker process: {worker_us:.1f} µs CPU per event, "
        f"{0.5e6 / worker_us:,.0f} events/s at half a core",
        flush=True,
    )
    return figures | {"simulate worker": worker_us}


def compare(before: dict[str, float], after: dict[str, float]) -> None:
    """The closing note: each component's CPU µs per event, before and after, measured in this run."""
    print(f"CPU µs per event, before -> after (load average {os.getloadavg()[0]:.1f}):")
    for component, was in before.items():
        now = after[component]
        print(f"  {component:<17} {was:7.1f} -> {now:7.1f} µs  ({(now - was) / was:+.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--before", type=Path, help="also measure this code tree first (`git archive main`)")
    options = parser.parse_args()
    codes = (
        [Code("after")]
        if options.before is None
        else [Code("before", options.before.resolve()), Code("after")]
    )
    figures = [measure(code, options) for code in codes]
    if len(figures) == 2:
        compare(*figures)


if __name__ == "__main__":
    main()

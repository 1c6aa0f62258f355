"""Each fault kind done for real to the local stack, and the sign that the faulted part is back.

An injector strikes, puts the part right (a restart, a new host) and returns what it did and a test
that tells when the part serves again; the campaign then waits for the pipeline to commit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.faults.host_process import HostProcess, kill_pid, wait_gone
from paysim_cli.faults.spec import FaultKind
from paysim_cli.hub.targets import HubTarget
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.local.state import ProcessState, StackState

# How long Azurite stays down in an outage (the pipeline's archive writes fail meanwhile).
AZURITE_OUTAGE_SECONDS = 3.0
# Between killing the AMQP endpoint and starting it again: the clients see the connection drop.
AMQP_OUTAGE_SECONDS = 1.0
ORPHAN_TIMEOUT_SECONDS = 10.0  # for a killed host's workers to die with it
READY_TIMEOUT_SECONDS = 60.0  # for a host's workers to be ready before one is killed


@dataclass
class Struck:
    """What an injector did: a line for the report, how long the part was down, when it is back."""

    detail: str
    down_seconds: float
    back: Callable[[], bool]
    problem: str | None = None  # a failure of the recovery itself (a host that left workers behind)
    killed: tuple[int, ...] = ()  # the pids the fault ended, none of which may outlive it


@dataclass
class FaultTarget:
    """What the faults strike: the stack in `settings.state_dir` and the pipeline host."""

    settings: Settings
    transport: HubTarget
    host: HostProcess
    worker_kills: int = 0
    poison_ids: list[str] = field(default_factory=list)  # checked once the run has drained

    def strike(self, kind: FaultKind) -> Struck:
        injector = {
            FaultKind.WORKER_KILL: self.kill_worker,
            FaultKind.HOST_KILL: self.kill_host,
            FaultKind.POSTGRES_RESTART: self.restart_postgres,
            FaultKind.AZURITE_OUTAGE: self.azurite_outage,
            FaultKind.AMQP_RESTART: self.restart_amqp,
            FaultKind.POISON: self.poison,
        }[kind]
        return injector()

    def kill_worker(self) -> Struck:
        """kill -9 of one worker (in turn): its host must restart it and take its partitions back."""
        _wait(self.host.all_ready, READY_TIMEOUT_SECONDS, "the pipeline host's workers to be ready")
        pids = self.host.worker_pids()
        worker = sorted(pids)[self.worker_kills % len(pids)]
        self.worker_kills += 1
        kill_pid(pids[worker])

        def restarted() -> bool:
            now = self.host.worker_pids().get(worker)
            return now is not None and now != pids[worker]

        return Struck(f"kill -9 worker {worker} (pid {pids[worker]})", 0.0, restarted, killed=(pids[worker],))

    def kill_host(self) -> Struck:
        """kill -9 of the host: its workers must die with it (checked by pid); a new host starts."""
        _wait(self.host.all_ready, READY_TIMEOUT_SECONDS, "the pipeline host's workers to be ready")
        host_pid = self.host.pid
        workers = self.host.kill()
        orphans = wait_gone(workers, ORPHAN_TIMEOUT_SECONDS)
        for pid in orphans:
            kill_pid(pid)
        self.host.start()
        problem = f"workers {orphans} outlived their killed host" if orphans else None
        listed = ", ".join(str(pid) for pid in workers)
        detail = (
            f"kill -9 host (pid {host_pid}); its workers ({listed}) died with it; new host {self.host.pid}"
        )
        killed = (host_pid, *workers) if host_pid is not None else tuple(workers)
        return Struck(detail, 0.0, self.host.all_ready, problem, killed)

    def restart_postgres(self) -> Struck:
        """PostgreSQL stopped as a crash would (immediate: no checkpoint, WAL recovery), then started."""
        from paysim_cli.local.postgres import EmbeddedPostgres, probe
        from paysim_cli.local.state import load_state, postgres_password, postgres_url, save_state

        password = postgres_password(self.settings.state_dir)
        server = EmbeddedPostgres(self.settings.state_dir / "postgres", password)
        port = server.running_port()
        if port is None or server.running_pid() is None:
            raise _not_running("PostgreSQL")
        began = time.monotonic()
        server.stop("immediate")
        started = server.start(port)
        state = load_state(self.settings.state_dir)
        state.postgres = started
        save_state(self.settings.state_dir, state)
        url = postgres_url(port, password)
        return Struck(
            f"pg_ctl stop -m immediate, start (pid {started.pid})",
            round(time.monotonic() - began, 2),
            lambda: probe(url) is None,
        )

    def azurite_outage(self) -> Struck:
        """kill -9 of Azurite, down for AZURITE_OUTAGE_SECONDS, started again on its port: it forgets the
        blobs of its last seconds, which the archive check finds and the repair fills."""
        from paysim_cli.local.azurite import Azurite, probe
        from paysim_cli.local.state import load_state

        state = load_state(self.settings.state_dir)
        if state.azurite is None or not Azurite.running(state.azurite):
            raise _not_running("Azurite")
        previous = state.azurite

        def start() -> int:
            state.azurite = Azurite(self.settings.state_dir / "azurite").start(previous.port)
            return state.azurite.pid

        return self._kill_and_restart(state, "Azurite", previous, AZURITE_OUTAGE_SECONDS, start, probe)

    def restart_amqp(self) -> Struck:
        """kill -9 of the AMQP endpoint that both the simulator and the workers talk to, then start."""
        from paysim_cli.local.amqp import EndpointProcess, probe
        from paysim_cli.local.state import amqp_sas_key, load_state

        state = load_state(self.settings.state_dir)
        if state.amqp is None or not EndpointProcess.running(state.amqp):
            raise _not_running("the AMQP endpoint")
        previous = state.amqp

        def start() -> int:
            endpoint = EndpointProcess(self.settings.state_dir / "amqp", self.settings.event_log_path)
            state.amqp = endpoint.start(
                previous.port, previous.eventhub_name, amqp_sas_key(self.settings.state_dir)
            )
            return state.amqp.pid

        return self._kill_and_restart(state, "AMQP endpoint", previous, AMQP_OUTAGE_SECONDS, start, probe)

    def _kill_and_restart(
        self,
        state: StackState,
        name: str,
        previous: ProcessState,
        outage_seconds: float,
        start: Callable[[], int],
        probe: Callable[[int], object],
    ) -> Struck:
        """kill -9 of the local service `name`, `outage_seconds` down, then `start` (which puts the new
        process into `state` and returns its pid), the state saved; back when `probe` of its port finds
        no problem (None)."""
        from paysim_cli.local.state import save_state

        began, pid, port = time.monotonic(), previous.pid, previous.port
        kill_pid(pid)
        wait_gone([pid], ORPHAN_TIMEOUT_SECONDS)
        time.sleep(outage_seconds)
        started = start()
        save_state(self.settings.state_dir, state)
        detail = f"kill -9 {name} (pid {pid}), down {outage_seconds:g} s, now pid {started}"
        return Struck(detail, round(time.monotonic() - began, 2), lambda: probe(port) is None, killed=(pid,))

    def poison(self) -> Struck:
        """One event that passes the schema and failed its whole batch before (a leap second): it must
        become one failed item while the rest of its batch commits. Nothing is down, so recovery is the
        next commit; the failed item is checked after the drain (behind a long lag the pipeline may
        reach the event minutes later)."""
        from paysim_cli.hub.targets import open_publisher
        from paysim_cli.hub.transport import OutgoingEvent

        transaction_id, body = poison_event(self.settings)
        publisher = open_publisher(self.settings, self.transport)
        try:
            publisher.publish([OutgoingEvent(body=body, partition_key=transaction_id)])
        finally:
            publisher.close()
        self.poison_ids.append(transaction_id)
        return Struck(f"published a leap-second event (transaction {transaction_id})", 0.0, lambda: True)


def poison_event(settings: Settings) -> tuple[str, bytes]:
    """A generated event of its own run, its event_time moved to a leap second of yesterday."""
    import numpy as np
    import orjson

    from paysim_cli.simulator.generator import EventGenerator
    from paysim_cli.simulator.profile_store import find_profile, load_profile

    _, path, _ = find_profile(settings, "default")
    generator = EventGenerator(
        load_profile(path),
        seed=int(time.time()),
        worker=0,
        run_id=f"poison-{uuid.uuid4().hex[:12]}",
        start_ms=int(time.time() * 1000),
    )
    document = orjson.loads(generator.block(0, np.zeros(1)).bodies[0])
    document["event_time"] = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}T23:59:60.000Z"
    return str(document["transaction_id"]), orjson.dumps(document)


def unisolated_poison(settings: Settings, transaction_ids: list[str]) -> list[str]:
    """Those of the poison events that are not exactly one failed item each."""
    from paysim_cli.db import connect

    if not transaction_ids:
        return []
    with connect(settings, autocommit=True, application_name="paysim faults") as conn:
        rows = conn.execute(
            "SELECT transaction_id::text, count(*) FROM failed_items WHERE transaction_id = ANY(%s::uuid[]) "
            "GROUP BY transaction_id",
            (transaction_ids,),
        ).fetchall()
    isolated = {str(row[0]) for row in rows if int(row[1]) == 1}
    return [transaction_id for transaction_id in transaction_ids if transaction_id not in isolated]


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise PaysimError(
                "fault_target_not_ready",
                f"gave up after {timeout:.0f} s waiting for {what}",
                "see the host logs the report names",
                exit_code=ExitCode.FAILURE,
            )
        time.sleep(0.05)


def _not_running(part: str) -> PaysimError:
    return PaysimError(
        "fault_target_not_running",
        f"{part} is not running, so it cannot be faulted",
        "`paysim local status` shows the stack; `paysim local up` starts it",
        exit_code=ExitCode.UNAVAILABLE,
    )

"""The pipeline's own Function app (function/function_app.py) hosted over the local log, on the real
PostgreSQL and Azurite: the run it processes reconciles exactly, also through worker kills, and its
raw events feed clustering."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from cli_results import json_data
from psycopg import sql
from typer.testing import Result

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.pipeline.host import PipelineHost, PipelineRequest
from paysim_cli.reconcile.verify import verify_run
from paysim_cli.settings import Settings
from paysim_cli.simulator.simulation import SimulationReport, SimulationRequest, run_simulation
from paysim_cli.worker_process import RestartPolicy

if TYPE_CHECKING:
    from conftest import KillWorker

CliInvoker = Callable[..., Result]


def test_a_chaos_run_through_the_hosted_function_reconciles(
    cli: CliInvoker, settings: Settings, migrated_database_url: str, blob_connection_string: str
) -> None:
    env = {
        "PAYSIM_DATABASE_URL": migrated_database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": blob_connection_string,
        "PAYSIM_RAW_EVENTS_CONTAINER": f"raw-{uuid.uuid4().hex[:12]}",
    }
    LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
    run = json_data(
        cli("simulate", "--profile", "chaos", "--count", "4000", "--rate", "20000", "--seed", "11", "--json")
    )
    assert run["injected"]["malformed"] > 0
    assert run["injected"]["duplicates"] > 0

    report = json_data(cli("pipeline", "run", "--until-drained", "--batch-size", "300", "--json", env=env))
    assert (report["status"], report["events"], report["lag"], report["failed_invocations"]) == (
        "drained",
        run["sent"],
        0,
        0,
    )
    (timed,) = report["runs"]
    assert (timed["run_id"], timed["events"]) == (run["run_id"], run["sent"])
    assert 0 < timed["latency_ms"]["p50"] <= timed["latency_ms"]["p99"]

    verdict = json_data(cli("verify", run["run_id"], "--json", env=env))
    assert verdict["passed"] is True
    assert verdict["processed"] + verdict["failed"] + verdict["duplicates_dropped"] == run["sent"]

    clusters = json_data(cli("metrics", "cluster", "-k", "2", "--min-events", "5", "--json", env=env))
    assert clusters["events"] == verdict["processed"]
    assert clusters["duplicates_skipped"] == verdict["duplicates_dropped"]  # the archive has them all
    assert sum(group["merchants"] for group in clusters["clusters"]) == clusters["merchants"] >= 2


def test_kill_9_of_workers_at_random_points_keeps_the_totals_exact(
    settings: Settings,
    migrated_database_url: str,
    admin_database_url: str,
    blob_connection_string: str,
    kill_worker: KillWorker,
    stack_dir: Path,
) -> None:
    """21 kills at random points: while three runs are processed, while the workers are idle, while
    they redeliver batches the database refuses, and while a killed worker is starting again; every
    run reconciles exactly."""
    settings = settings.override(
        database_url=migrated_database_url,
        blob_connection_string=blob_connection_string,
        raw_events_container=f"raw-{uuid.uuid4().hex[:12]}",
    )
    LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
    database = psycopg.conninfo.conninfo_to_dict(migrated_database_url)["dbname"]
    runs: list[SimulationReport] = []
    shuffled = random.Random(5)
    request = PipelineRequest(
        batch_size=50, restarts=RestartPolicy(limit=1000, base_delay=0.05, max_delay=0.2)
    )
    with (
        PipelineHost(settings, request) as host,
        psycopg.connect(admin_database_url, autocommit=True) as admin,
    ):
        host.wait_ready()
        for kill in range(21):
            if kill in (0, 14):
                runs.append(_simulated(settings, seed=21 + kill))  # busy from here, idle later
            if kill in (7, 8, 9):
                if kill == 7:
                    _refuse_connections(admin, database, refuse=True)
                    runs.append(_simulated(settings, seed=28))
                _poll_until(host, _refused_again(stack_dir, database))
                kill_worker(host)  # between two redeliveries of a batch the database refused
                continue
            if kill == 10:
                _refuse_connections(admin, database, refuse=False)
            time.sleep(shuffled.uniform(0, 0.5))
            kill_worker(host, ready=kill % 4 == 0)  # else the next kill may catch it starting
        status = host.run_until(until_drained=True, should_stop=lambda: False, timeout=120)
        report = host.stop(status)
    assert (report.status, report.restarts, report.workers) == ("drained", 21, 2)
    for run in runs:
        verdict = verify_run(settings, run.run_id)
        assert verdict.passed, verdict.differences
        assert verdict.processed + verdict.failed + verdict.duplicates_dropped == run.sent


def _simulated(settings: Settings, seed: int) -> SimulationReport:
    request = SimulationRequest(profile="chaos", count=3000, rate=20000, seed=seed)
    return run_simulation(settings, request)


def _refuse_connections(admin: psycopg.Connection[Any], database: str, *, refuse: bool) -> None:
    """A real outage of one database: new connections refused, the open ones terminated."""
    name = sql.Identifier(database)
    admin.execute(
        sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(name, sql.Literal(not refuse))
    )
    if refuse:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,)
        )


def _refused_again(stack_dir: Path, database: str) -> Callable[[], bool]:
    """True once the server has refused a connection to `database` again (its log says so)."""
    log = stack_dir / "postgres" / "postgres.log"
    line = f'database "{database}" is not currently accepting connections'
    before = log.read_text(encoding="utf-8", errors="replace").count(line)
    return lambda: log.read_text(encoding="utf-8", errors="replace").count(line) > before


def _poll_until(host: PipelineHost, condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        host.poll(0.1)

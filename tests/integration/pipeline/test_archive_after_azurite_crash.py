"""Azurite killed (kill -9) while the pipeline archives a run: it forgets the blobs it had acknowledged
since its last metadata save, whose batches committed. `verify` and `archive check` report the gap,
`archive repair` fills it from the hub, and the run then verifies exactly. All on the real stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest
from azure.storage.blob import ContainerClient
from cli_results import json_data, json_error
from typer.testing import Result

from paysim_cli.errors import ExitCode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.operations import describe_hub
from paysim_cli.hub.targets import HubTarget
from paysim_cli.local.azurite import Azurite
from paysim_cli.local.processes import free_port
from paysim_cli.local.state import azurite_connection_string
from paysim_cli.settings import Settings

CliInvoker = Callable[..., Result]
# Azurite's blob metadata (LokiJS), saved every 5 s: its modification time tells when the last save was.
METADATA_FILE = "__azurite_db_blob__.json"


def _wait_for(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def azurite(tmp_path: Path) -> Any:
    service = Azurite(tmp_path / "azurite")
    port = free_port()
    states = [service.start(port)]
    yield service, port, states
    Azurite.stop(states[-1])


def test_an_azurite_crash_leaves_a_gap_that_is_reported_then_repaired(
    cli: CliInvoker, settings: Settings, state_dir: Path, migrated_database_url: str, azurite: Any
) -> None:
    service, port, states = azurite
    env = {
        **os.environ,
        "PAYSIM_DATABASE_URL": migrated_database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": azurite_connection_string(port),
        "PAYSIM_RAW_EVENTS_CONTAINER": f"raw-{uuid.uuid4().hex[:12]}",
        # One attempt per write: the archive's own retries (3.5 s) could outlast the outage, and a
        # write failing while Azurite is down must fail its invocation for the test to see it.
        "PAYSIM_BLOB_ATTEMPTS": "1",
    }
    LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
    paysim = [sys.executable, "-m", "paysim_cli", "--state-dir", str(state_dir)]
    pipeline = subprocess.Popen(
        [*paysim, "pipeline", "run", "--batch-size", "100", "--json"], env=env, stdout=subprocess.PIPE
    )
    simulate = subprocess.Popen(
        [*paysim, "simulate", "--rate", "2000", "--duration", "14", "--seed", "9", "--json"],
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        container = ContainerClient.from_connection_string(
            env["PAYSIM_BLOB_CONNECTION_STRING"], env["PAYSIM_RAW_EVENTS_CONTAINER"]
        )
        blobs = lambda: sum(1 for _ in container.list_blobs()) if container.exists() else 0  # noqa: E731
        _wait_for(lambda: blobs() >= 5, "the pipeline to archive batches")
        metadata = service.data_dir / METADATA_FILE
        saved = metadata.stat().st_mtime
        _wait_for(lambda: metadata.stat().st_mtime > saved, "Azurite to save its metadata")
        at_save = blobs()
        time.sleep(2.5)  # halfway to the next save: the blobs acknowledged since will be forgotten
        assert blobs() > at_save
        psutil.Process(states[-1].pid).send_signal(signal.SIGKILL)
        _wait_for(lambda: not Azurite.running(states[-1]), "Azurite to die")
        time.sleep(1.0)  # the pipeline's archive writes fail meanwhile; its batches are retried
        states.append(service.start(port))

        run = orjson.loads(simulate.communicate(timeout=120)[0])["data"]
        _wait_for(
            lambda: describe_hub(settings, HubTarget.LOCAL).total_lag == 0, "the pipeline to drain", 180
        )
        pipeline.send_signal(signal.SIGINT)
        # Interrupted (exit 130): with --json the report travels inside the error document.
        report = orjson.loads(pipeline.communicate(timeout=120)[0])["error"]["report"]
    finally:
        for process in (simulate, pipeline):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert (report["status"], report["lag"]) == ("interrupted", 0)
    assert report["failed_invocations"] > 0  # while Azurite was down

    cli_env = {name: env[name] for name in ("PAYSIM_DATABASE_URL", "PAYSIM_BLOB_CONNECTION_STRING")} | {
        "PAYSIM_RAW_EVENTS_CONTAINER": env["PAYSIM_RAW_EVENTS_CONTAINER"]
    }
    verdict = json_error(cli("verify", run["run_id"], "--json", env=cli_env), ExitCode.VERIFY_FAILED)
    failed = {check["name"] for check in verdict["report"]["checks"] if not check["passed"]}
    assert failed == {"archive"}  # the tables are exact; only the archive misses events
    assert "`paysim archive repair`" in verdict["hint"]

    gaps = json_error(cli("archive", "check", "--deep", "--json", env=cli_env), ExitCode.VERIFY_FAILED)
    missing = gaps["report"]["missing_events"]
    assert 0 < missing == run["sent"] - verdict["report"]["archived"]
    assert gaps["report"]["unrepairable_events"] == 0

    repair = json_data(cli("archive", "repair", "--deep", "--json", env=cli_env))
    assert (repair["events_archived"], repair["after"]["complete"]) == (missing, True)
    verdict = json_data(cli("verify", run["run_id"], "--json", env=cli_env))
    assert (verdict["passed"], verdict["archived"]) == (True, run["sent"])

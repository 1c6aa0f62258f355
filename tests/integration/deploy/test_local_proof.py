"""The local proof: the whole deploy -> gate -> rollback flow on the real local stack, under load.

`paysim pipeline run` (two worker processes) and `paysim simulate` at 2,000 events/s run as the user
runs them. A good release is deployed: its gate passes and every worker switches to it. Then a broken
release, whose processor raises on every batch: its gate fails, paysim rolls back to the good release
by itself (exit 12), the workers switch back, the pipeline catches up, and `paysim verify` reconciles
the run exactly: no event lost or counted twice across three code switches.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
from typer.testing import Result

from paysim_cli import migrations
from paysim_cli.blob import container_client
from paysim_cli.deploy.history import Action, Outcome
from paysim_cli.deploy.store import release_store
from paysim_cli.errors import ExitCode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.operations import describe_hub
from paysim_cli.hub.targets import HubTarget
from paysim_cli.pipeline.release import running_workers
from paysim_cli.settings import Settings

CliInvoker = Callable[..., Result]
PAYSIM = str(Path(sys.executable).with_name("paysim"))
FUNCTION_DIR = Path(__file__).resolve().parents[3] / "function"
RATE, SECONDS = 2000, 60
BROKEN = """

def _broken(self, *args, **kwargs):
    raise RuntimeError("broken release: the processor raises on every batch")


BatchProcessor.process = _broken
"""


def data(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)["data"]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_broken_release_is_rolled_back_by_itself_under_load_and_the_run_reconciles(
    cli: CliInvoker,
    settings: Settings,
    state_dir: Path,
    database_url: str,
    blob_connection_string: str,
    tmp_path: Path,
) -> None:
    stack = settings.override(
        database_url=database_url,
        blob_connection_string=blob_connection_string,
        raw_events_container=f"raw-{uuid.uuid4().hex[:12]}",
    )
    LocalEventLog.create(stack.event_log_path, stack.hub_partitions).close()
    migrations.upgrade(stack)
    with container_client(stack, stack.raw_events_container) as container:
        container.create_container()
    env = {
        "PAYSIM_DATABASE_URL": database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": blob_connection_string,
        "PAYSIM_RAW_EVENTS_CONTAINER": stack.raw_events_container,
    }
    good = data(cli("function", "package", "--remote-build", "-o", str(tmp_path / "good"), "--json"))
    broken_app = tmp_path / "broken-app"
    shutil.copytree(FUNCTION_DIR, broken_app, ignore=shutil.ignore_patterns("__pycache__"))
    with (broken_app / "paysim_pipeline" / "processor.py").open("a") as processor:
        processor.write(BROKEN)
    broken = data(
        cli(
            "function",
            "package",
            "--remote-build",
            "--function-dir",
            str(broken_app),
            "-o",
            str(tmp_path / "broken"),
            "--json",
        )
    )
    assert good["version"] != broken["version"]

    environment = {**os.environ, **env}
    base = [PAYSIM, "--state-dir", str(state_dir)]
    pipeline = subprocess.Popen(
        [*base, "pipeline", "run", "--workers", "2", "--json"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    simulate = None
    try:
        with closing(LocalEventLog.open(stack.event_log_path)) as log:
            wait_for(
                lambda: len(log.partition_leases(stack.consumer_group)) == stack.hub_partitions, 60, "leases"
            )
        wait_for(lambda: len(running_workers(state_dir)) == 2, 30, "both workers")
        assert {worker.release for worker in running_workers(state_dir)} == {None}  # the working tree
        simulate = subprocess.Popen(
            [*base, "simulate", "--rate", str(RATE), "--duration", str(SECONDS), "--seed", "16", "--json"],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(2)

        deployed = data(
            cli(
                "function",
                "deploy",
                "--env",
                "local",
                "--package",
                good["path"],
                "--gate-seconds",
                "6",
                "--json",
                env=env,
            )
        )
        assert deployed["outcome"] == "deployed"
        gate = deployed["gate"]
        assert gate["passed"] is True, gate
        assert gate["invocations"] > 0
        assert gate["failed_invocations"] == 0
        assert {worker.release for worker in running_workers(state_dir)} == {good["version"]}

        assert simulate.poll() is None, "the load must still be running for the broken deploy"
        failed = cli(
            "function", "deploy", "--package", broken["path"], "--gate-seconds", "6", "--json", env=env
        )
        assert failed.exit_code == ExitCode.ROLLED_BACK, failed.output
        error = orjson.loads(failed.stdout)["error"]
        assert error["code"] == "rolled_back"
        report = error["report"]
        assert (report["outcome"], report["rolled_back_to"]) == ("rolled_back", good["version"])
        assert "broken release" in report["reason"]
        assert report["gate"]["failed_invocations"] > 0
        assert {worker.release for worker in running_workers(state_dir)} == {good["version"]}
        assert simulate.poll() is None, "the rollback happened while the load was still running"

        out, err = simulate.communicate(timeout=SECONDS + 120)
        assert simulate.returncode == 0, err.decode()
        run = orjson.loads(out)["data"]
        assert run["sent"] >= RATE * SECONDS * 0.99

        def caught_up() -> bool:
            hub = describe_hub(stack, HubTarget.LOCAL, stack.consumer_group)
            return sum(partition.lag or 0 for partition in hub.partitions) == 0

        wait_for(caught_up, 120, "the pipeline to catch up")
    finally:
        for process in (simulate, pipeline):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
    out, err = pipeline.communicate(timeout=120)
    assert pipeline.returncode == ExitCode.INTERRUPTED, err.decode()[
        -2000:
    ]  # stopped by SIGINT, report printed
    document = orjson.loads(out)  # interrupted: the report travels inside the error document
    hosted = document["error"]["report"]
    assert hosted["failed_invocations"] > 0  # the broken release's, all redelivered
    assert hosted["lag"] == 0
    assert "working tree" in hosted["hosting"]  # what it started with, before the first deploy
    assert hosted["releases"] == [good["version"]]  # what its workers run at the end
    assert f"now running release {broken['version']}" in err.decode()
    assert err.decode().rindex(f"now running release {good['version']}") > err.decode().rindex(
        broken["version"]
    )

    verdict = data(cli("verify", run["run_id"], "--json", env=env))
    assert verdict["passed"] is True
    assert verdict["processed"] + verdict["failed"] + verdict["duplicates_dropped"] == run["sent"]

    history = release_store(settings).history()
    assert history.active == good["version"]
    assert [(item.action, item.version, item.outcome, item.automatic) for item in history.deployments] == [
        (Action.DEPLOY, good["version"], Outcome.DEPLOYED, False),
        (Action.DEPLOY, broken["version"], Outcome.ROLLED_BACK, False),
        (Action.ROLLBACK, good["version"], Outcome.DEPLOYED, True),
    ]

"""The local proof: the whole deploy -> gate -> rollback flow on the real local stack, under load.

`paysim pipeline run` (two worker processes) and `paysim simulate` at 2,000 events/s run as the user
runs them. A good release is deployed: its gate passes and every worker switches to it. Then a broken
release, whose processor raises on every batch: its gate fails, paysim rolls back to the good release
by itself (exit 12), the workers switch back, the pipeline catches up, and `paysim verify` reconciles
the run exactly: no event lost or counted twice across three code switches.

Written to pass on a loaded shared machine: the load runs until both deploys are done and is then
stopped with Ctrl-C, as an operator stops it (its manifest counts what it sent), the
health checks get a long time-out (a check still running at its time-out is unknown, which fails a
gate), a worker busy with one batch for seconds is not taken for a stale one (`worker_stale_seconds`),
and the gate tolerates a growing lag, since whether two workers on a busy machine keep up with
2,000 events/s is not what this test proves (bench/pipeline.py measures that).
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
RATE = 2000
RUN_ID = "local-proof"
LOADED_MACHINE = """[env.local.health]
check_timeout_seconds = 30
worker_stale_seconds = 30
freshness_warn_seconds = 300
freshness_fail_seconds = 600
lag_warn = 1000000
lag_fail = 2000000
"""
GATE = ("--gate-seconds", "6", "--gate-timeout", "300", "--max-lag-growth", "1000000")
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


def _stack(
    settings: Settings, database_url: str, blob_connection_string: str, tmp_path: Path
) -> tuple[Settings, dict[str, str]]:
    """A migrated database, a raw-events container and an event log; the environment naming them."""
    stack = settings.override(
        database_url=database_url,
        blob_connection_string=blob_connection_string,
        raw_events_container=f"raw-{uuid.uuid4().hex[:12]}",
    )
    LocalEventLog.create(stack.event_log_path, stack.hub_partitions).close()
    migrations.upgrade(stack)
    with container_client(stack, stack.raw_events_container) as container:
        container.create_container()
    config = tmp_path / "paysim.toml"
    config.write_text(LOADED_MACHINE, encoding="utf-8")
    return stack, {
        "PAYSIM_DATABASE_URL": database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": blob_connection_string,
        "PAYSIM_RAW_EVENTS_CONTAINER": stack.raw_events_container,
        "PAYSIM_CONFIG": str(config),
    }


def _packages(cli: CliInvoker, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The project's app, and a copy whose processor raises on every batch, packaged."""
    good = data(cli("function", "package", "--remote-build", "-o", str(tmp_path / "good"), "--json"))
    broken_app = tmp_path / "broken-app"
    shutil.copytree(FUNCTION_DIR, broken_app, ignore=shutil.ignore_patterns("__pycache__"))
    with (broken_app / "paysim_pipeline" / "processor.py").open("a") as processor:
        processor.write(BROKEN)
    package = ["function", "package", "--remote-build", "--function-dir", str(broken_app)]
    broken = data(cli(*package, "-o", str(tmp_path / "broken"), "--json"))
    assert good["version"] != broken["version"]
    return good, broken


def _paysim(state_dir: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """`paysim ARGS` as a user starts it, in its own process."""
    return subprocess.Popen(
        [PAYSIM, "--state-dir", str(state_dir), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _all_leased(stack: Settings) -> bool:
    with closing(LocalEventLog.open(stack.event_log_path)) as log:
        return len(log.partition_leases(stack.consumer_group)) == stack.hub_partitions


def _releases(state_dir: Path) -> set[str | None]:
    return {worker.release for worker in running_workers(state_dir)}


def _deploy_good_then_broken(
    cli: CliInvoker, env: dict[str, str], state_dir: Path, good: dict[str, Any], broken: dict[str, Any]
) -> dict[str, Any]:
    """Both deploys while the load runs; the broken one's report."""
    deployed = data(
        cli("function", "deploy", "--env", "local", "--package", good["path"], *GATE, "--json", env=env)
    )
    assert deployed["outcome"] == "deployed"
    gate = deployed["gate"]
    assert gate["passed"] is True, gate
    assert gate["invocations"] > 0
    assert gate["failed_invocations"] == 0
    assert _releases(state_dir) == {good["version"]}

    failed = cli("function", "deploy", "--package", broken["path"], *GATE, "--json", env=env)
    assert failed.exit_code == ExitCode.ROLLED_BACK, failed.output
    error = orjson.loads(failed.stdout)["error"]
    assert error["code"] == "rolled_back"
    report: dict[str, Any] = error["report"]
    assert (report["outcome"], report["rolled_back_to"]) == ("rolled_back", good["version"])
    assert "broken release" in report["reason"]
    assert report["gate"]["failed_invocations"] > 0
    assert _releases(state_dir) == {good["version"]}
    return report


def _check_hosted(out: bytes, err: bytes, good: dict[str, Any], broken: dict[str, Any]) -> None:
    """The host's report (inside the interrupted error document) and its log of the switches."""
    hosted = orjson.loads(out)["error"]["report"]
    assert hosted["failed_invocations"] > 0  # the broken release's, all redelivered
    assert hosted["lag"] == 0
    assert "working tree" in hosted["hosting"]  # what it started with, before the first deploy
    assert hosted["releases"] == [good["version"]]  # what its workers run at the end
    log = err.decode()
    assert f"now running release {broken['version']}" in log
    assert log.rindex(f"now running release {good['version']}") > log.rindex(broken["version"])


def test_a_broken_release_is_rolled_back_by_itself_under_load_and_the_run_reconciles(
    cli: CliInvoker,
    settings: Settings,
    state_dir: Path,
    database_url: str,
    blob_connection_string: str,
    tmp_path: Path,
) -> None:
    stack, env = _stack(settings, database_url, blob_connection_string, tmp_path)
    good, broken = _packages(cli, tmp_path)
    pipeline = _paysim(state_dir, env, "pipeline", "run", "--workers", "2", "--json")
    simulate = None
    try:
        wait_for(lambda: _all_leased(stack), 180, "leases")
        wait_for(lambda: len(running_workers(state_dir)) == 2, 120, "both workers")
        assert _releases(state_dir) == {None}  # the working tree
        load = ["--rate", str(RATE), "--duration", "1800", "--seed", "16", "--run-id", RUN_ID, "--json"]
        simulate = _paysim(state_dir, env, "simulate", *load)
        time.sleep(2)
        _deploy_good_then_broken(cli, env, state_dir, good, broken)
        assert simulate.poll() is None, "both deploys happened while the load was still running"
        simulate.send_signal(signal.SIGINT)
        out, err = simulate.communicate(timeout=300)
        assert simulate.returncode == ExitCode.INTERRUPTED, err.decode()
        run = orjson.loads(out)["error"]["report"]
        assert run["sent"] > 0

        def caught_up() -> bool:
            hub = describe_hub(stack, HubTarget.LOCAL, stack.consumer_group)
            return sum(partition.lag or 0 for partition in hub.partitions) == 0

        wait_for(caught_up, 600, "the pipeline to catch up")
    finally:
        for process in (simulate, pipeline):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
    out, err = pipeline.communicate(timeout=300)
    assert pipeline.returncode == ExitCode.INTERRUPTED, err.decode()[-2000:]  # SIGINT, report printed
    _check_hosted(out, err, good, broken)

    verdict = data(cli("verify", RUN_ID, "--json", env=env))
    assert verdict["passed"] is True
    assert verdict["processed"] + verdict["failed"] + verdict["duplicates_dropped"] == run["sent"]
    history = release_store(settings).history()
    assert history.active == good["version"]
    assert [(item.action, item.version, item.outcome, item.automatic) for item in history.deployments] == [
        (Action.DEPLOY, good["version"], Outcome.DEPLOYED, False),
        (Action.DEPLOY, broken["version"], Outcome.ROLLED_BACK, False),
        (Action.ROLLBACK, good["version"], Outcome.DEPLOYED, True),
    ]

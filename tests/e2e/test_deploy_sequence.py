"""deploy.yml's steps from `paysim db migrate` on, run as the runner runs them, against the local
environment (`PAYSIM_ENV=local`), under a steady simulate load: a good deploy; a migration that fails
half way; a release that passes its gate and then is unhealthy (its host killed with SIGKILL); a release
whose health gate fails. Then the load's run reconciles: nothing lost or counted twice throughout.

The steps are read from the workflow file and run by bash with their `env:` and `if:` evaluated
(tests/e2e/workflow_runner.py), so the commands, their order and the rollback logic are the ones CI
runs. The steps before the migration (checkout, pip install, Azure sign-in, Terraform) need GitHub and
Azure; their one output the sequence uses, the package, is built here with `paysim function package`.

Like CI, paysim runs from the checkout it deploys: a copy of the project in which each run's commit adds
its migrations, on PYTHONPATH for every paysim process (the pipeline host included), so the migrations
`paysim health` compares the database with are the checkout's, as with `pip install .` on the runner.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from e2e_processes import Spawn, wait_until
from workflow_runner import Job, JobRun, run_steps

from paysim_cli import migrations
from paysim_cli.blob import container_client
from paysim_cli.deploy.history import Action, Outcome
from paysim_cli.deploy.store import release_store
from paysim_cli.errors import ExitCode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.operations import describe_hub
from paysim_cli.hub.targets import HubTarget
from paysim_cli.pipeline.release import running_workers
from paysim_cli.settings import HealthThresholds, Settings

PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = Job.load(PROJECT / ".github" / "workflows" / "deploy.yml", "deploy")
# What the runner cannot do here; everything else in the sequence runs.
NOT_RUN_HERE = frozenset({"actions/upload-artifact"})
BROKEN = """

def _broken(self, *args, **kwargs):
    raise RuntimeError("broken release: the processor raises on every batch")


BatchProcessor.process = _broken
"""
# deploy.yml's steps from the migration on that run here, in order.
SEQUENCE = ("migrate", "function", "health", "rollback", "summary")
RUN_ID = "deploy-sequence"
PROBE_UP = "CREATE TABLE {name} (id integer PRIMARY KEY);\n"
PROBE_DOWN = "DROP TABLE {name};\n"


class Deployment:
    """The checkout, the local stack's environment and the pipeline host that deploys act on."""

    def __init__(self, checkout: Path, env: dict[str, str], spawn: Spawn, work: Path) -> None:
        self.checkout, self.env, self.spawn, self.work = checkout, env, spawn, work
        self.state_dir = Path(env["PAYSIM_STATE_DIR"])
        self.pipeline: subprocess.Popen[str] | None = None
        self.load: subprocess.Popen[str] | None = None
        self.runs = 0

    def _command(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("paysim")), *args, "--json"],
            env=self.env,
            cwd=self.checkout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @staticmethod
    def _data(process: subprocess.Popen[str]) -> Any:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        return orjson.loads(out)["data"]

    def paysim(self, *args: str) -> Any:
        return self._data(self._command(*args))

    def packages(self, *function_dirs: Path) -> list[dict[str, str]]:
        """`paysim function package`'s outputs as deploy.yml's package step writes them, one per app
        directory; the builds run at once (each is mostly waiting on its own app's import check)."""
        package = ("function", "package", "--remote-build", "--function-dir")
        builds = [
            self._command(*package, str(app), "--output", str(self.work / f"dist-{app.name}"))
            for app in function_dirs
        ]
        built = [self._data(build) for build in builds]
        return [{"path": package["path"], "version": package["version"]} for package in built]

    def add_migration(self, version: int, name: str, up: str, down: str) -> None:
        sql = self.checkout / "sql"
        (sql / f"{version:04d}_{name}.up.sql").write_text(f"-- {version:04d}_{name}: deploy test\n{up}")
        (sql / f"{version:04d}_{name}.down.sql").write_text(f"-- Reverts {version:04d}_{name}.\n{down}")

    def remove_migration(self, version: int) -> None:
        for path in (self.checkout / "sql").glob(f"{version:04d}_*.sql"):
            path.unlink()

    def start_pipeline(self) -> None:
        self.pipeline = pipeline = self.spawn("pipeline", "run", "--workers", "2", "--json", env=self.env)
        settings = Settings(state_dir=self.state_dir)

        def leased() -> bool:
            if pipeline.poll() is not None:
                raise AssertionError(
                    f"paysim pipeline run exited {pipeline.returncode}: {pipeline.communicate()}"
                )
            with closing(LocalEventLog.open(settings.event_log_path)) as log:
                return len(log.partition_leases(settings.consumer_group)) == settings.hub_partitions

        wait_until(leased, 120, "the pipeline host to lease every partition")
        wait_until(lambda: len(running_workers(self.state_dir)) == 2, 60, "both pipeline workers")

    def kill_pipeline(self, step_id: str) -> None:
        """A real fault between the gate and the last health check: the host and its workers, kill -9."""
        if step_id == "health" and self.pipeline is not None:
            os.killpg(self.pipeline.pid, signal.SIGKILL)
            self.pipeline.wait()
            # Health sees a worker by its lease renewals: leases renewed just before the kill still
            # look alive for worker_stale_seconds. A real final check comes later than that too.
            time.sleep(HealthThresholds().worker_stale_seconds + 1)

    def run(
        self, package: dict[str, str], *, health_timeout: int = 600, kill_before_health: bool = False
    ) -> JobRun:
        self.runs += 1
        work = self.work / f"run-{self.runs}"
        work.mkdir()
        return run_steps(
            DEPLOY,
            DEPLOY.steps_from("migrate"),
            inputs={"environment": "local", "gate-seconds": 5, "health-timeout": health_timeout},
            earlier_steps={"package": package},
            base_env=self.env,
            cwd=self.checkout,
            work_dir=work,
            not_run_here=NOT_RUN_HERE,
            before_step=self.kill_pipeline if kill_before_health else lambda step_id: None,
        )

    def start_load(self) -> None:
        """Payments all along, so that every gate watches invocations of the release it gates."""
        self.load = self.spawn(
            "simulate", "--rate", "100", "--duration", "1800", "--seed", "17", "--run-id", RUN_ID, "--json",
            env=self.env,
        )  # fmt: skip

    def stop_load_and_verify(self) -> Any:
        """Stop the load (its manifest counts what it sent), let the pipeline catch up, reconcile."""
        assert self.load is not None
        self.load.send_signal(signal.SIGINT)
        self.load.communicate(timeout=120)
        assert self.load.returncode == ExitCode.INTERRUPTED
        settings = Settings(state_dir=self.state_dir)

        def caught_up() -> bool:
            hub = describe_hub(settings, HubTarget.LOCAL, settings.consumer_group)
            return sum(partition.lag or 0 for partition in hub.partitions) == 0

        wait_until(caught_up, 300, "the pipeline to catch up")
        return self.paysim("verify", RUN_ID)

    def schema_version(self) -> int:
        return int(self.paysim("db", "status", "--sql-dir", "sql")["current_version"])

    def has_table(self, name: str) -> bool:
        with psycopg.connect(self.env["PAYSIM_DATABASE_URL"]) as conn:
            row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        return bool(row and row[0])

    def active_release(self) -> str | None:
        return release_store(Settings(state_dir=self.state_dir)).history().active


def checkout_of_the_project(destination: Path) -> Path:
    """What `pip install .` on the runner installs from: paysim, the Function app, migrations, profiles."""
    ignore = shutil.ignore_patterns("__pycache__", ".python_packages")
    for part in ("paysim_cli", "function", "sql", "profiles"):
        shutil.copytree(PROJECT / part, destination / part, symlinks=True, ignore=ignore)
    # The checkout's settings for the local environment, as a team keeps one per environment: on a
    # machine shared with other work a check may take longer than its default 5 s to answer, and an
    # unanswered check would fail a good release's gate.
    (destination / "paysim.toml").write_text("[env.local.health]\ncheck_timeout_seconds = 60\n")
    return destination


@pytest.fixture
def deployment(tmp_path: Path, pipeline_env: dict[str, str], spawn: Spawn, database_url: str) -> Deployment:
    checkout = checkout_of_the_project(tmp_path / "checkout")
    env = {
        **pipeline_env,
        "PAYSIM_ENV": "local",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join([str(checkout), str(checkout / "function")]),
        "GITHUB_ACTIONS": "true",
        "CI": "true",
    }
    settings = Settings(
        database_url=database_url, blob_connection_string=env["PAYSIM_BLOB_CONNECTION_STRING"]
    )
    with container_client(settings, env["PAYSIM_RAW_EVENTS_CONTAINER"]) as container:
        container.create_container()
    deployment = Deployment(checkout, env, spawn, tmp_path)
    deployment.start_pipeline()
    deployment.start_load()
    return deployment


def broken_copy(app: Path, destination: Path) -> Path:
    shutil.copytree(app, destination, ignore=shutil.ignore_patterns("__pycache__"))
    with (destination / "paysim_pipeline" / "processor.py").open("a") as processor:
        processor.write(BROKEN)
    return destination


def changed_copy(app: Path, destination: Path) -> Path:
    """Another good release: the same code with one more comment, so another version."""
    shutil.copytree(app, destination, ignore=shutil.ignore_patterns("__pycache__"))
    with (destination / "function_app.py").open("a") as function_app:
        function_app.write("# release two\n")
    return destination


def test_the_deploy_sequence_deploys_and_rolls_back_function_and_migrations_on_each_failure(
    deployment: Deployment, tmp_path: Path
) -> None:
    head = migrations.status(Settings(database_url=deployment.env["PAYSIM_DATABASE_URL"])).current_version
    app = deployment.checkout / "function"
    good, two, broken = deployment.packages(
        app, changed_copy(app, tmp_path / "release-two"), broken_copy(app, tmp_path / "broken")
    )

    # 1. A commit with a new migration and a good release: every step passes, nothing is rolled back.
    deployment.add_migration(
        900, "deploy_probe", PROBE_UP.format(name="deploy_probe"), PROBE_DOWN.format(name="deploy_probe")
    )
    first = deployment.run(good)
    assert first.outcomes() == steps("success", "success", "success", "skipped", "success"), logs(first)
    assert first.step("migrate").outputs["version_before"] == str(head)
    assert (deployment.schema_version(), deployment.active_release()) == (900, good["version"])
    assert "## Deployed local" in first.summary
    assert f"{head} before this run, 900 now" in first.summary
    assert first.not_run == ["Upload the reports"]

    # 2. A migration fails half way: the one before it is reverted, the Function is never touched.
    deployment.add_migration(
        901, "probe_two", PROBE_UP.format(name="probe_two"), PROBE_DOWN.format(name="probe_two")
    )
    deployment.add_migration(902, "broken", "SELECT 1 / 0;\n", "SELECT 1;\n")
    second = deployment.run(two)
    assert second.outcomes() == steps("failure", "skipped", "skipped", "success", "skipped"), logs(second)
    assert "0902_broken" in second.step("migrate").log
    assert (deployment.schema_version(), deployment.active_release()) == (900, good["version"])
    assert not deployment.has_table("probe_two")
    assert "## Rolled back local" in second.summary
    assert "Function: not deployed" in second.summary
    assert "Database: back to version 900 (reverted: 901 probe_two)" in second.summary
    deployment.remove_migration(902)  # the next commit fixes it

    # 3. A release passes its gate, then the last health check fails (its host killed): this job rolls
    # the Function back by hand, then the migration.
    third = deployment.run(two, health_timeout=20, kill_before_health=True)
    assert third.outcomes() == steps("success", "success", "failure", "success", "skipped"), logs(third)
    assert (deployment.schema_version(), deployment.active_release()) == (900, good["version"])
    assert not deployment.has_table("probe_two")
    assert f"Function: release {two['version']} rolled back by this job" in third.summary
    assert "Database: back to version 900 (reverted: 901 probe_two)" in third.summary
    # The commit is reverted and the host comes back (it refuses a database with pending migrations),
    # running the release rolled back to; the next commit brings the migration again.
    deployment.remove_migration(901)
    deployment.start_pipeline()
    deployment.add_migration(
        901, "probe_two", PROBE_UP.format(name="probe_two"), PROBE_DOWN.format(name="probe_two")
    )

    # 4. A broken release fails its health gate: paysim rolls the Function back itself (exit 12), the
    # job rolls the migration back.
    fourth = deployment.run(broken)
    assert fourth.outcomes() == steps("success", "failure", "skipped", "success", "skipped"), logs(fourth)
    assert fourth.step("function").outputs["exit_code"] == "12"
    assert (deployment.schema_version(), deployment.active_release()) == (900, good["version"])
    assert not deployment.has_table("probe_two")
    assert deployment.has_table("deploy_probe")
    rolled_back_by_paysim = f"Function: release {broken['version']} failed (its gate or its deploy"
    assert f"{rolled_back_by_paysim}: function-deploy.json); paysim rolled it back" in fourth.summary
    assert "Database: back to version 900 (reverted: 901 probe_two)" in fourth.summary
    assert {worker.release for worker in running_workers(deployment.state_dir)} == {good["version"]}

    history = release_store(Settings(state_dir=deployment.state_dir)).history()
    assert [(item.action, item.version, item.outcome) for item in history.deployments] == [
        (Action.DEPLOY, good["version"], Outcome.DEPLOYED),
        (Action.DEPLOY, two["version"], Outcome.DEPLOYED),
        (Action.ROLLBACK, good["version"], Outcome.DEPLOYED),
        (Action.DEPLOY, broken["version"], Outcome.ROLLED_BACK),
        (Action.ROLLBACK, good["version"], Outcome.DEPLOYED),
    ]

    # 5. Across four deploys, three rollbacks and a host killed with SIGKILL, no payment was lost or
    # counted twice: the run reconciles (the broken release's invocations failed and were redelivered).
    deployment.remove_migration(901)  # reverted with the broken release's commit: nothing pending
    verdict = deployment.stop_load_and_verify()
    assert verdict["passed"] is True, verdict


def steps(*outcomes: str) -> dict[str, str]:
    """The outcomes expected of the sequence's steps, in deploy.yml's order."""
    return dict(zip(SEQUENCE, outcomes, strict=True))


def logs(run: JobRun) -> str:
    return "\n".join(
        f"--- {step.name} ({step.outcome}, exit {step.exit_code})\n{step.log}" for step in run.steps
    )

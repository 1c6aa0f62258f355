"""SIGINT and SIGTERM on the long-running verbs, and a reader that goes away, with real signals sent to
real processes: the report is printed, the run's manifest covers every event published (workers'
included), and the exit status is 130 for SIGINT, 143 for SIGTERM, 141 for a closed pipe."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import orjson
import pytest
from e2e_processes import PAYSIM, Spawn, events_in_log, wait_until

from paysim_cli.errors import ExitCode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.runs.manifest import RunManifest
from paysim_cli.settings import Settings

EXIT = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}


@pytest.fixture
def hub_env(state_dir: Path) -> dict[str, str]:
    LocalEventLog.create(Settings(state_dir=state_dir).event_log_path, 4).close()
    return {**os.environ, "PAYSIM_STATE_DIR": str(state_dir)}


def _interrupted_report(process: subprocess.Popen[str], signum: int) -> dict[str, object]:
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT[signum], stderr
    error = orjson.loads(stdout)["error"]  # --json: one document, the report inside the error
    assert error["code"] == "interrupted"
    assert error["message"].startswith(f"stopped by {signal.Signals(signum).name}")
    assert "Traceback" not in stderr
    report: dict[str, object] = error["report"]
    assert report["interrupted_by"] == signal.Signals(signum).name
    return report


@pytest.mark.parametrize(
    ("signum", "workers", "to_group"),
    [
        (signal.SIGTERM, 1, False),  # `timeout`, `kill PID`: the parent only
        (signal.SIGINT, 2, True),  # Ctrl-C at a terminal: the whole foreground group
        (signal.SIGTERM, 2, True),  # a CI runner cancelling the job: every process of the group
    ],
)
def test_simulate_stops_reports_and_writes_a_manifest_of_what_was_published(
    spawn: Spawn, hub_env: dict[str, str], state_dir: Path, signum: int, workers: int, to_group: bool
) -> None:
    run_id = f"signal-{signum}-{workers}-{int(to_group)}"
    process = spawn(
        "simulate", "--rate", "2000", "--duration", "120", "--workers", str(workers), "--run-id", run_id,
        "--json", env=hub_env,
    )  # fmt: skip
    wait_until(lambda: events_in_log(state_dir) >= 1000, 60, "the run to publish")
    (os.killpg if to_group else os.kill)(process.pid, signum)
    report = _interrupted_report(process, signum)

    assert report["status"] == "interrupted"
    manifest = RunManifest.model_validate_json((state_dir / "runs" / run_id / "manifest.json").read_bytes())
    published = events_in_log(state_dir)
    assert manifest.totals.delivered == published == report["sent"]
    assert published < 2000 * 120  # it did stop early


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_pipeline_run_finishes_its_batches_and_reports(
    spawn: Spawn, pipeline_env: dict[str, str], state_dir: Path, signum: int
) -> None:
    sent = subprocess.run(
        [*PAYSIM, "simulate", "--count", "3000", "--rate", "3000", "--run-id", "fed", "--json"],
        env=pipeline_env,
        capture_output=True,
        check=True,
    )
    assert orjson.loads(sent.stdout)["data"]["sent"] == 3000
    process = spawn("pipeline", "run", "--workers", "2", "--json", env=pipeline_env)
    wait_until(lambda: _processed(pipeline_env) == 3000, 90, "the pipeline to process the run")
    os.killpg(process.pid, signum)  # workers included: they leave the signal to the host
    report = _interrupted_report(process, signum)

    assert (report["status"], report["events"]) == ("interrupted", 3000)
    verified = subprocess.run(
        [*PAYSIM, "verify", "fed", "--json"], env=pipeline_env, capture_output=True, check=False
    )
    assert verified.returncode == 0, verified.stdout  # nothing half-done: the run reconciles


def _processed(env: dict[str, str]) -> int:
    import psycopg

    with psycopg.connect(env["PAYSIM_DATABASE_URL"]) as conn:
        row = conn.execute("SELECT processed FROM run_totals WHERE run_id = 'fed'").fetchone()
    return int(row[0]) if row else 0


def test_demo_says_it_was_interrupted(spawn: Spawn, tmp_path: Path) -> None:
    env = {**os.environ, "PAYSIM_STATE_DIR": str(tmp_path / "demo-state"), "PAYSIM_AMQP_PORT": "0"}
    process = spawn("demo", "--rate", "500", "--duration", "120", "--workers", "1", "--json", env=env)
    try:
        # --json keeps the demo's stage lines off stderr: its run directory says it is sending.
        wait_until(lambda: _demo_runs(tmp_path) != [], 120, "the demo's run to start")
        wait_until(lambda: events_in_log(tmp_path / "demo-state") >= 500, 60, "the demo to send")
        os.killpg(process.pid, signal.SIGINT)
        stdout, _ = process.communicate(timeout=90)
        assert process.returncode == ExitCode.INTERRUPTED
        error = orjson.loads(stdout)["error"]
        assert error["code"] == "interrupted"
        report = error["report"]
        assert report["interrupted_by"] == "SIGINT"
        assert 0 < report["sent"] < 500 * 120
        assert "paysim verify" in error["hint"]
    finally:
        subprocess.run([*PAYSIM, "local", "down"], env=env, capture_output=True, check=False)


def _demo_runs(tmp_path: Path) -> list[Path]:
    runs = tmp_path / "demo-state" / "runs"
    return list(runs.iterdir()) if runs.is_dir() else []


def test_a_reader_that_goes_away_ends_quietly(hub_env: dict[str, str], tmp_path: Path) -> None:
    """`paysim hub peek | head -2` and `paysim simulate --help | head -3` exit like coreutils: 141."""
    events = tmp_path / "events.ndjson"
    events.write_text("".join(f'{{"n": {n}, "pad": "{"x" * 500}"}}\n' for n in range(400)))
    paysim = " ".join(PAYSIM)
    subprocess.run([*PAYSIM, "hub", "send", "--file", str(events)], env=hub_env, check=True)
    for line, keep in ((f"{paysim} hub peek --max 100", 2), (f"{paysim} simulate --help", 3)):
        # The reader has gone before paysim writes: the first write meets a closed pipe.
        script = f"exec 3>&1; {line} 2>errors | (exec 0<&-; true); echo ${{PIPESTATUS[0]}}"
        result = subprocess.run(
            ["bash", "-c", script], env=hub_env, capture_output=True, text=True, cwd=tmp_path, check=False
        )
        assert result.stdout.strip() == str(int(ExitCode.BROKEN_PIPE)), (line, keep)
        assert (tmp_path / "errors").read_text() == "", line
        real = subprocess.run(
            ["bash", "-c", f"{line} 2>errors | head -{keep} >/dev/null; echo ${{PIPESTATUS[0]}}"],
            check=False,
            env=hub_env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert real.stdout.strip() in ("0", str(int(ExitCode.BROKEN_PIPE))), line
        assert (tmp_path / "errors").read_text() == "", line

"""`paysim demo` end to end, as `make demo` runs it: its own local stack, pipeline, load and verdict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from typer.testing import Result

from paysim_cli.errors import ExitCode
from paysim_cli.local.processes import free_port

CliInvoker = Callable[..., Result]


def test_the_demo_reconciles_a_run_and_a_chaos_run(cli: CliInvoker) -> None:
    try:
        result = cli("demo", "--rate", "2000", "--duration", "3", "--seed", "1", "--json")
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)["data"]
        assert report["sent"] == 6000
        assert report["processed"] + report["failed"] + report["duplicates_dropped"] == report["sent"]
        assert report["reconciliation"]["passed"] is True
        assert report["pipeline"] == "drained"
        assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p95"] <= report["latency_ms"]["p99"]
        assert report["throughput"] > 0
        assert report["top_metrics"]["windows"]

        chaos = cli("demo", "--profile", "chaos", "--rate", "2000", "--duration", "3", "--seed", "2")
        assert chaos.exit_code == 0, chaos.output
        assert "reconciles exactly" in chaos.stdout
        assert "duplicates dropped" in chaos.stdout
        assert "demo: draining the pipeline" in chaos.stderr
    finally:
        cli("local", "down")


def test_the_demo_runs_on_the_local_stack_only(cli: CliInvoker, tmp_path: Path) -> None:
    (tmp_path / "paysim.toml").write_text("[env.dev]\n", encoding="utf-8")
    result = cli("--env", "dev", "demo", "--json")
    assert result.exit_code == ExitCode.CONFIG
    assert orjson.loads(result.stdout)["error"]["code"] == "demo_needs_local"


def test_the_demo_measures_its_own_run_and_reports_older_events_apart(cli: CliInvoker) -> None:
    try:
        # Its own AMQP port: the default 5672 may be taken by another stack on the machine meanwhile.
        env = {"PAYSIM_AMQP_PORT": str(free_port())}
        assert cli("local", "up", env=env).exit_code == 0
        older = cli("simulate", "--rate", "2000", "--duration", "3", "--seed", "4", "--json")
        assert older.exit_code == 0, older.output
        left = orjson.loads(older.stdout)["data"]["sent"]
        result = cli("demo", "--rate", "1000", "--duration", "2", "--seed", "3", "--json", env=env)
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)["data"]
    finally:
        cli("local", "down")
    assert report["backlog"]["events"] == left == 6000
    assert (report["backlog"]["status"], report["backlog"]["remaining"]) == ("drained", 0)
    # The run's lag counts the run's events only: never more than it sent.
    assert 0 < report["max_lag"] <= report["sent"] == 2000
    assert report["latency_events"] == report["sent"]
    assert report["reconciliation"]["passed"] is True

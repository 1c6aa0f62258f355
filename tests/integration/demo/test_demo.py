"""`paysim demo` end to end, as `make demo` runs it: its own local stack, pipeline, load and verdict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from typer.testing import Result

from paysim_cli.errors import ExitCode

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

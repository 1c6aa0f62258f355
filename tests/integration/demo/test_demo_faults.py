"""`paysim demo --faults` on its own real local stack: worker and host kill -9s, a PostgreSQL crash
and restart, an Azurite outage and a poison event during one run, then exact totals, a repaired
archive, every recovery timed, no process left behind. Generous limits: the machine may be loaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import psutil
import pytest
from typer.testing import Result

from paysim_cli.errors import ExitCode
from paysim_cli.faults.host_process import processes_alive
from paysim_cli.local.processes import free_port
from paysim_cli.runs.faults import read_faults
from paysim_cli.settings import Settings

CliInvoker = Callable[..., Result]
SPEC = "worker-kill:3,host-kill:1,postgres-restart:1,azurite-outage:1,poison"


def _own_amqp_port() -> dict[str, str]:
    """Its own AMQP port: the default 5672 may be taken by another stack on the machine meanwhile."""
    return {"PAYSIM_AMQP_PORT": str(free_port())}


def test_the_demo_survives_real_faults_and_says_how_fast(cli: CliInvoker, state_dir: Path) -> None:
    try:
        result = cli(
            "demo", "--rate", "1000", "--duration", "30", "--seed", "5", "--drain-timeout", "600",
            "--faults", SPEC, "--json", env=_own_amqp_port(),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)["data"]
    finally:
        cli("local", "down")
    faults = report["faults"]
    assert faults["passed"] is True, faults["problems"]
    assert [item["kind"] for item in faults["faults"]].count("worker-kill") == 3
    assert sorted({item["kind"] for item in faults["faults"]}) == [
        "azurite-outage", "host-kill", "poison", "postgres-restart", "worker-kill",
    ]  # fmt: skip
    for item in faults["faults"]:
        assert item["problem"] is None
        assert item["recovery_seconds"] is not None
        assert item["recovery_seconds"] >= item["down_seconds"]
        assert item["at"] >= item["scheduled_at"]
    assert faults["hosts_started"] == 2  # the first, and the one after the host kill
    # The run keeps them (faults.json), for its report's timeline: the same faults, the same recoveries.
    recorded = read_faults(Settings(state_dir=state_dir), report["run_id"])
    assert [(fault.number, fault.kind) for fault in recorded] == [
        (item["number"], item["kind"]) for item in faults["faults"]
    ]
    for fault, item in zip(recorded, faults["faults"], strict=True):
        assert fault.recovered_at is not None
        recovery = (fault.recovered_at - fault.struck_at).total_seconds()
        assert recovery == pytest.approx(item["recovery_seconds"], abs=0.01)
    assert faults["longest_stall_seconds"] <= faults["stall_limit_seconds"] == 30
    # Exact totals, and an archive that is complete (repaired where the killed Azurite lost blobs).
    assert report["reconciliation"]["passed"] is True
    assert report["processed"] == report["sent"] == 30_000
    assert report["reconciliation"]["archived"] == 30_000
    if faults["archive_repair"] is not None:
        assert faults["archive_repair"]["complete"] is True
        assert faults["archive_repair"]["events_archived"] == faults["archive_repair"]["missing_events"]
    # Nothing the faults killed or started outlives the demo: hosts, workers, the restarted services.
    killed_host = next(item for item in faults["faults"] if item["kind"] == "host-kill")
    assert len(killed_host["killed_pids"]) == 3  # the host and its 2 workers
    killed = [pid for item in faults["faults"] for pid in item["killed_pids"]]
    assert len(killed) == 3 + 3 + 1
    assert processes_alive(killed) == []
    assert not [
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if str(state_dir) in " ".join(process.info["cmdline"] or [])
    ]
    assert report["pipeline"] == "drained"
    assert report["backlog"] == {"events": 0, "seconds": 0.0, "status": "none", "remaining": 0}


def test_a_bad_spec_is_a_usage_error_before_anything_starts(cli: CliInvoker, state_dir: Path) -> None:
    for arguments, says in (
        (("--faults", "worker-kill:2,disk-full:1"), "'disk-full' is not a fault kind"),
        (("--faults", "host-kill@40", "--duration", "30"), "host-kill@40 is not within the run's 30 s"),
        (("--faults", "amqp-restart"), "amqp-restart needs --transport eventhub"),
    ):
        result = cli("demo", *arguments, "--json")
        assert result.exit_code == ExitCode.USAGE, result.output
        error = orjson.loads(result.stdout)["error"]
        assert error["code"] == "invalid_fault_spec"
        assert says in error["message"]
        assert "worker-kill:20,host-kill:2" in error["hint"]
    assert not (state_dir / "postgres").exists()  # nothing was started

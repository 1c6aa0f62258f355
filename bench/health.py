"""How long `paysim health --json` takes on the local stack with 32 partitions (the goal: under 1 s).

Prints figures, asserts nothing. Brings up its own local stack (`paysim local up` with 32 partitions in
a temporary state directory), migrates it, starts `paysim pipeline run` so every check has something
to look at, publishes some payments, then times:
- the report itself (`run_checks` in this process: every check, concurrently), and
- the whole command as a user runs it (`paysim health --json` in a new process: start-up included).

    .venv/bin/python bench/health.py [--runs 5] [--partitions 32]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
PAYSIM = str(Path(sys.executable).with_name("paysim"))


def paysim(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PAYSIM, *args], env=environment, capture_output=True, check=False)


def report_of(completed: subprocess.CompletedProcess[bytes]) -> dict[str, object]:
    document = orjson.loads(completed.stdout)
    report: dict[str, object] = document["data"] if "data" in document else document["error"]["report"]
    return report


def measure(environment: dict[str, str], runs: int) -> None:
    from paysim_cli.health import HealthRequest, run_checks
    from paysim_cli.settings import resolve_settings

    settings = resolve_settings({"state_dir": Path(environment["PAYSIM_STATE_DIR"])}, environ=environment)
    run_checks(settings, HealthRequest())  # imports and first connections, as a warm process has them
    in_process = []
    for _ in range(runs):
        started = time.perf_counter()
        report = run_checks(settings, HealthRequest())
        in_process.append(time.perf_counter() - started)
    slowest = max(report.checks, key=lambda check: check.duration_ms)
    commands, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        completed = paysim(environment, "health", "--json")
        commands.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    statuses = {check["name"]: check["status"] for check in report_of(completed)["checks"]}  # type: ignore[index, union-attr]
    print(f"partitions {settings.hub_partitions}, checks {len(report.checks)}: {statuses}")
    print(f"exit code of the last `paysim health --json`: {completed.returncode}")
    print(
        f"report (run_checks, in process): median {statistics.median(in_process) * 1000:,.0f} ms, "
        f"max {max(in_process) * 1000:,.0f} ms; slowest check {slowest.name} {slowest.duration_ms:,.0f} ms "
        "(its lag sampling waits lag_sample_seconds = 0.25 s)"
    )
    print(
        f"`paysim health --json`, a new process each: median {statistics.median(commands) * 1000:,.0f} ms, "
        f"min {min(commands) * 1000:,.0f} ms, max {max(commands) * 1000:,.0f} ms; "
        f"its CPU time (user + system) median {statistics.median(cpu) * 1000:,.0f} ms"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    paysim(environment, "--help")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    help_cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(
        f"for scale, `paysim --help` (start-up alone): {(time.perf_counter() - started) * 1000:,.0f} ms, "
        f"CPU {help_cpu * 1000:,.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--partitions", type=int, default=32)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paysim-bench-") as directory:
        environment = os.environ | {
            "PAYSIM_STATE_DIR": str(Path(directory) / "state"),
            "PAYSIM_HUB_PARTITIONS": str(arguments.partitions),
        }
        assert paysim(environment, "local", "up").returncode == 0
        host = None
        try:
            assert paysim(environment, "db", "migrate").returncode == 0
            host = subprocess.Popen(
                [PAYSIM, "pipeline", "run", "--workers", "2"],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            paysim(environment, "simulate", "--rate", "2000", "--duration", "2")
            # Until the workers own every partition and have drained the payments.
            paysim(environment, "health", "--wait-healthy", "--timeout", "60", "--check", "function")
            measure(environment, arguments.runs)
        finally:
            if host is not None:
                host.send_signal(signal.SIGINT)
                host.wait(60)
            paysim(environment, "local", "down")


if __name__ == "__main__":
    main()

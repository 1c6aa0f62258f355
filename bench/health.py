"""How long `paysim health --json` takes on the local stack with 32 partitions (the goal: under 1 s).

Prints figures, asserts nothing. Brings up its own local stack (`paysim local up` with 32 partitions
in a temporary state directory; or uses the running one of `--state-dir`), migrates it, starts
`paysim pipeline run` so every check has something to look at, publishes some payments, then times
`paysim health --json` as a user runs it, a new process each time (start-up included), and prints
beside it each check's time: in those processes (cold: they load their drivers) and in this one
(`run_checks`, warm), with the load average. paysim's own modules are byte-compiled first, as
`pip install .` (and so the container and CI) leaves them; `--from-source` skips that.

    flock /tmp/paysim-bench.lock .venv/bin/python bench/health.py [--runs 15] [--partitions 32]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
PAYSIM = str(Path(sys.executable).with_name("paysim"))


def paysim(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PAYSIM, *args], env=environment, capture_output=True, check=False)


def report_of(completed: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    document = orjson.loads(completed.stdout)
    report: dict[str, Any] = document["data"] if "data" in document else document["error"]["report"]
    return report


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def commands(environment: dict[str, str], runs: int) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    """Wall and CPU seconds of `runs` `paysim health --json` processes, and their reports."""
    walls, cpus, reports = [], [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        completed = paysim(environment, "health", "--json")
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        reports.append(report_of(completed))
    return walls, cpus, reports


def in_process(environment: dict[str, str], runs: int) -> list[dict[str, float]]:
    """Each check's milliseconds in `runs` warm `run_checks` in this process."""
    from paysim_cli.health import HealthRequest, run_checks
    from paysim_cli.settings import resolve_settings

    settings = resolve_settings({"state_dir": Path(environment["PAYSIM_STATE_DIR"])}, environ=environment)
    run_checks(settings, HealthRequest())  # imports, as a warm process has them
    return [
        {check.name.value: check.duration_ms for check in run_checks(settings, HealthRequest()).checks}
        for _ in range(runs)
    ]


def measure(environment: dict[str, str], runs: int) -> None:
    load_before = os.getloadavg()
    walls, cpus, reports = commands(environment, runs)
    load_after = os.getloadavg()
    warm = in_process(environment, runs)
    last = reports[-1]
    lag = next(check for check in last["checks"] if check["name"] == "lag")
    print(f"partitions {len(lag['details']['partitions'])}, checks of the last run: ", end="")
    print(", ".join(f"{check['name']} {check['status']}" for check in last["checks"]))
    wall_ms, cpu_ms = [wall * 1000 for wall in walls], [cpu * 1000 for cpu in cpus]
    print(
        f"`paysim health --json`, {runs} new processes: wall median {statistics.median(wall_ms):,.0f} ms, "
        f"p95 {p95(wall_ms):,.0f} ms (min {min(wall_ms):,.0f}, max {max(wall_ms):,.0f}); CPU (user + "
        f"system, the forked blob check's included) median {statistics.median(cpu_ms):,.0f} ms"
    )
    cores = os.cpu_count()
    print(f"load average (1 min): {load_before[0]:.2f} before, {load_after[0]:.2f} after; {cores} cores")
    table(reports, warm)
    started = time.perf_counter()
    paysim(environment, "--help")
    print(f"for scale, `paysim --help` (start-up alone): {(time.perf_counter() - started) * 1000:,.0f} ms")


def table(reports: list[dict[str, Any]], warm: list[dict[str, float]]) -> None:
    """Each check's milliseconds: in the timed processes (cold) beside this process's runs (warm)."""
    print(f"{'check':12} {'cold median':>12} {'cold p95':>9} {'warm median':>12}  (ms)")
    for name in [check["name"] for check in reports[-1]["checks"]]:
        cold = [next(c for c in report["checks"] if c["name"] == name)["duration_ms"] for report in reports]
        hot = statistics.median(run[name] for run in warm)
        print(f"{name:12} {statistics.median(cold):12,.0f} {p95(cold):9,.0f} {hot:12,.0f}")
    whole = [report["duration_ms"] for report in reports]
    print(f"{'all checks':12} {statistics.median(whole):12,.0f} {p95(whole):9,.0f}  (the report's duration)")


@contextmanager
def local_stack(environment: dict[str, str]) -> Iterator[None]:
    """A 32-partition local stack with a running pipeline that has drained some payments."""
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
        paysim(environment, "health", "--wait-healthy", "--timeout", "90")
        yield
    finally:
        if host is not None:
            host.send_signal(signal.SIGINT)
            host.wait(60)
        paysim(environment, "local", "down")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--partitions", type=int, default=32)
    parser.add_argument("--state-dir", type=Path, help="measure this running stack instead of starting one")
    parser.add_argument("--from-source", action="store_true", help="do not byte-compile paysim first")
    arguments = parser.parse_args()
    if not arguments.from_source:
        compileall.compile_dir(ROOT / "paysim_cli", quiet=1)
        compileall.compile_dir(ROOT / "function" / "paysim_pipeline", quiet=1)
    if arguments.state_dir is not None:
        measure(os.environ | {"PAYSIM_STATE_DIR": str(arguments.state_dir)}, arguments.runs)
        return
    with tempfile.TemporaryDirectory(prefix="paysim-bench-") as directory:
        environment = os.environ | {
            "PAYSIM_STATE_DIR": str(Path(directory) / "state"),
            "PAYSIM_HUB_PARTITIONS": str(arguments.partitions),
        }
        with local_stack(environment):
            measure(environment, arguments.runs)


if __name__ == "__main__":
    main()

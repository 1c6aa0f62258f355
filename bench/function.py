"""How long `paysim function package` takes, and a local deploy from start to gate passed.

Prints figures, asserts nothing.
- Package build time of the project's function/: with --remote-build (no dependencies), with the
  wheels vendored from a cold cache (downloads from the package index) and from the warm cache; the zip
  size and whether the warm builds are byte-identical.
- A local deploy under load: its own local stack in a temporary state directory, migrated,
  `paysim pipeline run --workers 2` and a simulate run at --rate events/s, then `paysim function deploy
  --env local` of a prebuilt package, timed from the command's start: pointer switched, every worker
  running the release, healthy again after the switch, gate passed (--gate-seconds), and the whole
  command; then a broken release (its processor raises on every batch): the gate fails and paysim
  rolls back by itself (exit 12), timed from the command's start and for the rollback alone.

    .venv/bin/python bench/function.py [--runs 3] [--rate 2000] [--gate-seconds 5] [--max-lag-growth 250]
                                       [--deploy-only]

On a machine too busy to keep up with --rate, a good release fails its gate on the lag's growth:
raise --max-lag-growth (and `worker_stale_seconds` in paysim.toml's [env.local.health]) to time the
switch and the rollback anyway.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
PAYSIM = str(Path(sys.executable).with_name("paysim"))
BROKEN = """

def _broken(self, *args, **kwargs):
    raise RuntimeError("broken release: the processor raises on every batch")


BatchProcessor.process = _broken
"""


def paysim(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PAYSIM, *args], env=environment, capture_output=True, check=False)


def package_times(runs: int) -> Path:
    """Build times of the project's app; the scratch directory (its wheel cache stays warm)."""
    from paysim_cli.deploy.package import PackageRequest, build_package
    from paysim_cli.settings import Settings

    scratch = Path(tempfile.mkdtemp(prefix="paysim-bench-package-"))
    settings = Settings(state_dir=scratch / "state")
    remote = []
    for run in range(runs):
        report = build_package(
            settings, PackageRequest(output_dir=scratch / f"remote{run}", remote_build=True)
        )
        remote.append(report.build_seconds)
    print(
        f"package --remote-build: median {statistics.median(remote):.2f} s (min {min(remote):.2f}), "
        f"{report.bytes:,} bytes, {report.files} files"
    )
    report = build_package(settings, PackageRequest(output_dir=scratch / "cold"))
    print(
        f"package, wheels vendored from a cold cache (pip download from the index): "
        f"{report.build_seconds:.2f} s, {report.dependencies} distributions, {report.bytes:,} bytes"
    )
    warm, hashes = [], set()
    for run in range(runs):
        report = build_package(settings, PackageRequest(output_dir=scratch / f"warm{run}"))
        warm.append(report.build_seconds)
        hashes.add(report.sha256)
    print(
        f"package, wheels vendored from the warm cache: median {statistics.median(warm):.2f} s "
        f"(min {min(warm):.2f}); {report.files:,} files, {report.bytes:,} bytes; "
        f"{'byte-identical' if len(hashes) == 1 else 'DIFFERENT'} over {runs} builds"
    )
    return scratch


def release_packages(scratch: Path) -> tuple[Path, Path]:
    """The project's app and a broken copy of it, packaged with --remote-build (what a deploy ships)."""
    from paysim_cli.deploy.package import PackageRequest, build_package
    from paysim_cli.settings import Settings

    settings = Settings(state_dir=scratch / "state")
    broken_app = scratch / "broken-app"
    shutil.copytree(ROOT / "function", broken_app, ignore=shutil.ignore_patterns("__pycache__"))
    with (broken_app / "paysim_pipeline" / "processor.py").open("a") as processor:
        processor.write(BROKEN)
    good = build_package(settings, PackageRequest(output_dir=scratch / "good", remote_build=True))
    broken = build_package(
        settings,
        PackageRequest(function_dir=broken_app, output_dir=scratch / "broken", remote_build=True),
    )
    return good.path, broken.path


def timed_deploy(environment: dict[str, str], package: Path, gate: list[str]) -> tuple[float, dict[str, Any]]:
    """The whole command's seconds, and its report (a rolled-back deploy's is in its error document)."""
    started = time.perf_counter()
    completed = paysim(
        environment,
        "function",
        "deploy",
        "--package",
        str(package),
        *gate,
        "--json",
    )
    took = time.perf_counter() - started
    document = orjson.loads(completed.stdout)
    report: dict[str, Any] = document["data"] if "data" in document else document["error"].get("report")
    if report is None:
        raise SystemExit(f"paysim function deploy failed: {document['error']}")
    return took, report


def deploy_times(
    packages: tuple[Path, Path], runs: int, rate: int, gate_seconds: float, growth: float
) -> None:
    good, broken = packages
    with tempfile.TemporaryDirectory(prefix="paysim-bench-deploy-") as directory:
        environment = os.environ | {"PAYSIM_STATE_DIR": str(Path(directory) / "state")}
        assert paysim(environment, "local", "up").returncode == 0
        host = load = None
        try:
            assert paysim(environment, "db", "migrate").returncode == 0
            host = subprocess.Popen(
                [PAYSIM, "pipeline", "run", "--workers", "2"],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            paysim(environment, "health", "--wait-healthy", "--timeout", "60", "--check", "function")
            load = subprocess.Popen(
                [
                    PAYSIM,
                    "simulate",
                    "--rate",
                    str(rate),
                    "--duration",
                    str(int(runs * (2 * gate_seconds + 40))),
                ],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            gate = ["--gate-seconds", f"{gate_seconds:g}", "--max-lag-growth", f"{growth:g}"]
            measure(environment, good, broken, runs, gate, rate)
        finally:
            for process in (load, host):
                if process is not None:
                    process.send_signal(signal.SIGINT)
                    process.wait(60)
            paysim(environment, "local", "down")


def measure(
    environment: dict[str, str], good: Path, broken: Path, runs: int, gate: list[str], rate: int
) -> None:
    passed: list[tuple[float, dict[str, Any]]] = []
    rolled: list[tuple[float, dict[str, Any]]] = []
    for _ in range(runs):
        # Each round starts from the working tree, so the good release is a real switch every time.
        (Path(environment["PAYSIM_STATE_DIR"]) / "function" / "active").unlink(missing_ok=True)
        passed.append(timed_deploy(environment, good, gate))
        if passed[-1][1]["outcome"] != "deployed":
            raise SystemExit(f"the good release did not pass its gate: {passed[-1][1]['reason']}")
        rolled.append(timed_deploy(environment, broken, gate))
    median = statistics.median
    print(
        f"local deploy at {rate:,} events/s, {' '.join(gate)}: the whole command median "
        f"{median(t for t, _ in passed):.2f} s (min {min(t for t, _ in passed):.2f}); every worker ran the "
        f"release {median(r['gate']['start_seconds'] for _, r in passed):.2f} s after the switch (median), "
        f"healthy again {median(r['gate']['settle_seconds'] for _, r in passed):.2f} s later"
    )
    outcomes = sorted({r["outcome"] for _, r in rolled})
    gate = [r["gate"] for _, r in rolled]
    failed_after = [g["start_seconds"] + g["settle_seconds"] + g["observed_seconds"] for g in gate]
    rollback = [float(r["rollback_seconds"] or 0) for _, r in rolled]
    print(
        f"broken release: {', '.join(outcomes)}; the whole command median "
        f"{median(t for t, _ in rolled):.2f} s; the gate failed {median(failed_after):.2f} s after the "
        f"switch (median); the rollback, until every worker ran the good release again, median "
        f"{median(rollback):.2f} s (max {max(rollback):.2f})"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--gate-seconds", type=float, default=5.0)
    parser.add_argument("--max-lag-growth", type=float, default=250.0)
    parser.add_argument("--deploy-only", action="store_true", help="skip the package build times")
    arguments = parser.parse_args()
    if arguments.deploy_only:
        scratch = Path(tempfile.mkdtemp(prefix="paysim-bench-package-"))
    else:
        scratch = package_times(arguments.runs)
    deploy_times(
        release_packages(scratch),
        arguments.runs,
        arguments.rate,
        arguments.gate_seconds,
        arguments.max_lag_growth,
    )


if __name__ == "__main__":
    main()

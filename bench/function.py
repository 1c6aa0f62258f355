"""How long `paysim function package` takes, and a local deploy from start to gate passed.

Prints figures, asserts nothing.
- Package build time of the project's function/: with --remote-build (no dependencies), with the
  wheels vendored from a cold cache (downloads from the package index) and from the warm cache; the zip
  size and whether the warm builds are byte-identical.
- A local deploy under load: its own local stack in a temporary state directory, migrated,
  `paysim pipeline run --workers 2` and a simulate run at --rate events/s, then `paysim function deploy
  --env local` of a prebuilt package, timed from the command's start: pointer switched, every worker
  running the release, gate passed (--gate-seconds), and the whole command.

    .venv/bin/python bench/function.py [--runs 3] [--rate 2000] [--gate-seconds 5]
"""

from __future__ import annotations

import argparse
import os
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


def data(completed: subprocess.CompletedProcess[bytes]) -> dict[str, object]:
    document = orjson.loads(completed.stdout)
    if "data" not in document:
        raise SystemExit(f"paysim failed: {document['error']}")
    result: dict[str, object] = document["data"]
    return result


def package_times(runs: int) -> Path:
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
    remote_package: Path = build_package(
        settings, PackageRequest(output_dir=scratch / "deploy", remote_build=True)
    ).path
    return remote_package


def deploy_times(package: Path, runs: int, rate: int, gate_seconds: float) -> None:
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
                [PAYSIM, "simulate", "--rate", str(rate), "--duration", str(int(runs * (gate_seconds + 15)))],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            totals, starts = [], []
            for _ in range(runs):
                started = time.perf_counter()
                report = data(
                    paysim(
                        environment,
                        "function",
                        "deploy",
                        "--env",
                        "local",
                        "--package",
                        str(package),
                        "--gate-seconds",
                        str(gate_seconds),
                        "--json",
                    )
                )
                totals.append(time.perf_counter() - started)
                gate = report["gate"]
                assert isinstance(gate, dict)
                starts.append(float(gate["start_seconds"]))
                # The next run deploys the same release again: back to the working tree first.
                (Path(environment["PAYSIM_STATE_DIR"]) / "function" / "active").unlink()
            print(
                f"local deploy at {rate:,} events/s, --gate-seconds {gate_seconds:g}: the whole command "
                f"median {statistics.median(totals):.2f} s (min {min(totals):.2f}); from the pointer switch "
                f"until every worker ran the release: median {statistics.median(starts):.2f} s "
                f"(max {max(starts):.2f}); the rest is the gate's window, the store and the CLI start-up"
            )
            print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        finally:
            for process in (load, host):
                if process is not None:
                    process.send_signal(signal.SIGINT)
                    process.wait(60)
            paysim(environment, "local", "down")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--gate-seconds", type=float, default=5.0)
    arguments = parser.parse_args()
    package = package_times(arguments.runs)
    deploy_times(package, arguments.runs, arguments.rate, arguments.gate_seconds)


if __name__ == "__main__":
    main()

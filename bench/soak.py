"""The soak: `paysim demo --faults` for 5 minutes at 5,000 events/s with at least 20 worker kills,
2 host kills, 3 PostgreSQL restarts and 2 Azurite outages, then every figure the proof needs: each
fault with when it struck and its recovery time, the longest stall, the totals and the archive.

Prints figures, asserts nothing (the demo's exit status is the verdict: 0 survived, 7 not). It runs the
CLI as a user does, in a temporary state directory with its own stack, stopped afterwards.

    .venv/bin/python bench/soak.py [--rate 5000] [--duration 300] [--workers 2]
        [--faults worker-kill:20,host-kill:2,postgres-restart:3,azurite-outage:2,poison:2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from paysim_cli.local.processes import free_port

SOAK_FAULTS = "worker-kill:20,host-kill:2,postgres-restart:3,azurite-outage:2,poison:2"


def soak(options: argparse.Namespace, state_dir: Path) -> tuple[int, dict[str, Any]]:
    """Run the demo; its exit status and report (from `data`, or the error document's `report`)."""
    paysim = [sys.executable, "-m", "paysim_cli", "--state-dir", str(state_dir)]
    command = [
        *paysim,
        *("demo", "--rate", str(options.rate), "--duration", str(options.duration)),
        *("--workers", str(options.workers), "--seed", str(options.seed), "--drain-timeout", "900"),
        *("--faults", options.faults, "--json"),
    ]
    print("$ paysim demo " + " ".join(command[len(paysim) + 1 :]), flush=True)
    # A port of its own: another stack on the machine may hold the AMQP endpoint's default 5672.
    env = {**os.environ, "PAYSIM_AMQP_PORT": str(free_port())}
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, check=False, env=env)
    finally:
        subprocess.run([*paysim, "local", "down"], capture_output=True, check=False, env=env)
    document = orjson.loads(done.stdout)
    if "data" in document:
        return done.returncode, document["data"]
    report = document["error"].get("report")
    return done.returncode, report if isinstance(report, dict) and "faults" in report else document["error"]


def print_faults(faults: dict[str, Any]) -> None:
    print(f"  {'#':>3} {'fault':<17} {'at s':>7} {'down s':>7} {'recovered s':>12}  what")
    for item in faults["faults"]:
        recovery = "never" if item["recovery_seconds"] is None else f"{item['recovery_seconds']:.2f}"
        print(
            f"  {item['number']:>3} {item['kind']:<17} {item['at']:>7.1f} {item['down_seconds']:>7.2f} "
            f"{recovery:>12}  {item['detail']}" + (f"; {item['problem']}" if item["problem"] else "")
        )
    by_kind: dict[str, list[float]] = {}
    for item in faults["faults"]:
        if item["recovery_seconds"] is not None:
            by_kind.setdefault(item["kind"], []).append(item["recovery_seconds"])
    for kind, times in sorted(by_kind.items()):
        print(
            f"  {kind:<17} {len(times):>3} recovered: "
            f"mean {sum(times) / len(times):.2f} s, max {max(times):.2f} s"
        )


def print_report(report: dict[str, Any]) -> None:
    faults = report["faults"]
    print_faults(faults)
    print(
        f"  struck {len(faults['faults'])} of {faults['scheduled']}; "
        f"hosts started {faults['hosts_started']}; "
        f"longest stall {faults['longest_stall_seconds']:.1f} s at {faults['longest_stall_at']:.1f} s "
        f"(limit {faults['stall_limit_seconds']:.0f} s)"
    )
    repair = faults["archive_repair"]
    if repair is not None:
        print(
            f"  archive: Azurite lost {repair['missing_events']:,} events; {repair['events_archived']:,} "
            f"re-archived from the hub; complete {repair['complete']}"
        )
    reconciliation = report["reconciliation"]
    print(
        f"  sent {report['sent']:,} at {report['achieved_rate']:,.0f}/s; processed {report['processed']:,}, "
        f"failed {report['failed']:,}, archived {reconciliation['archived']:,}; "
        f"reconciliation {'exact' if reconciliation['passed'] else 'DIFFERS'}"
    )
    print(
        f"  run's max lag {report['max_lag']:,}; drained {report['drain_seconds']:.1f} s after the last "
        f"send ({report['pipeline']}); throughput {report['throughput']:,.0f} events/s"
    )
    verdict = "survived" if faults["passed"] else "NOT survived: " + "; ".join(faults["problems"])
    print(f"  verdict: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--faults", default=SOAK_FAULTS)
    options = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="paysim-soak-") as directory:
        status, report = soak(options, Path(directory) / "state")
    print(f"  exit status {status}; wall time {time.monotonic() - began:,.0f} s")
    if "faults" not in report:
        print(f"  no report: {report.get('code')}: {report.get('message')}")
        return
    print_report(report)


if __name__ == "__main__":
    main()

"""The Event Hubs path end to end, as a user runs it: `paysim simulate --transport eventhub` through the
local AMQP endpoint, and `paysim demo --transport eventhub` (simulator and pipeline both on the SDK).

Prints figures, asserts nothing. Each code tree gets a local stack of its own (a fresh state directory,
`paysim local up` from that tree), then the commands run against it, alternating between the trees so
that a before/after compares runs made under the same load of the shared machine:

    .venv/bin/python bench/eventhub_path.py [--rate 10000] [--demo-rate 5000] [--duration 30] \
        [--before /tmp/paysim-main]      # a checkout of the code to compare with (`git archive main`)
        [--skip-simulate] [--skip-demo]

A tree is run with it (and its function/) first on PYTHONPATH, so this venv's dependencies serve both.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

PAYSIM = str(Path(sys.executable).with_name("paysim"))
HERE = Path(__file__).resolve().parents[1]


class Tree:
    """A code tree with a local stack of its own under `state_dir`."""

    def __init__(self, label: str, root: Path, state_dir: Path) -> None:
        self.label, self.root, self.state_dir = label, root, state_dir

    def paysim(self, *arguments: str, timeout: float = 900) -> dict[str, Any]:
        environment = {
            **os.environ,
            "PYTHONPATH": f"{self.root}:{self.root / 'function'}",
            "PAYSIM_STATE_DIR": str(self.state_dir),
        }
        completed = subprocess.run(
            [PAYSIM, *arguments, "--json"],
            cwd=self.root,
            env=environment,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        document: dict[str, Any] = orjson.loads(completed.stdout or b"{}")
        if "data" not in document:
            raise RuntimeError(f"{self.label}: paysim {' '.join(arguments)}: {completed.stdout[-2000:]!r}")
        data: dict[str, Any] = document["data"]
        return data


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def simulate(tree: Tree, rate: float, duration: float) -> str:
    report = tree.paysim(
        "simulate",
        "--transport",
        "eventhub",
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--throughput-units",
        "20",
    )
    latency = report["latency_ms"]
    setup = report.get("setup_seconds")
    return (
        f"{tree.label:>6} simulate: {report['workers']} workers, sent {report['sent']:,} "
        f"failed {report['failed']:,}, "
        f"achieved {report['achieved_rate']:,.0f}/s of {report['target_rate']:,.0f}, publish latency "
        f"p50 {latency['p50']:,.0f} p95 {latency['p95']:,.0f} p99 {latency['p99']:,.0f} ms"
        + (f", set-up before the clock {setup:.2f} s" if setup is not None else ", set-up not reported")
    )


def demo(tree: Tree, rate: float, duration: float) -> str:
    report = tree.paysim("demo", "--transport", "eventhub", "--rate", str(rate), "--duration", str(duration))
    latency = report["latency_ms"]
    return (
        f"{tree.label:>6} demo: sent {report['sent']:,} at {report['achieved_rate']:,.0f}/s, processed "
        f"{report['processed']:,} failed {report['failed']:,} "
        f"duplicates dropped {report['duplicates_dropped']:,}, "
        f"reconciled {report['reconciliation'].get('passed')}, drained {report['drain_seconds']:.1f} s after "
        f"the last event, max lag {report['max_lag']:,}, end-to-end p50 {latency['p50']:,.0f} "
        f"p95 {latency['p95']:,.0f} p99 {latency['p99']:,.0f} ms"
    )


def _timed(measure: Callable[[Tree, float, float], str], tree: Tree, rate: float, duration: float) -> str:
    """The measure's line, or that it did not finish within the time-out (a figure too, under load)."""
    try:
        return measure(tree, rate, duration)
    except subprocess.TimeoutExpired as expired:
        return f"{tree.label:>6} {measure.__name__}: did not finish within {expired.timeout:.0f} s"


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--demo-rate", type=float, default=5_000)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--before", type=Path, help="a code tree to compare with, run alternately")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-simulate", action="store_true")
    options = parser.parse_args(arguments)
    with tempfile.TemporaryDirectory(prefix="paysim-bench-") as directory:
        trees = [Tree("after", HERE, Path(directory) / "after")]
        if options.before is not None:
            trees.insert(0, Tree("before", options.before.resolve(), Path(directory) / "before"))
        try:
            for tree in trees:
                tree.paysim("local", "up")
            for tree in trees if not options.skip_simulate else ():
                print(load(), flush=True)
                print(_timed(simulate, tree, options.rate, options.duration), flush=True)
            if not options.skip_demo:
                for tree in trees:
                    print(load(), flush=True)
                    print(_timed(demo, tree, options.demo_rate, options.duration), flush=True)
        finally:
            for tree in trees:
                tree.paysim("local", "down")


if __name__ == "__main__":
    main()

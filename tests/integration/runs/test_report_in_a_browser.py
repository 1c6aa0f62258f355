"""Real demo runs' reports, opened in headless Chromium (Debian's package, driven by Playwright): every
chart draws with data, nothing logs an error, nothing is fetched, and its numbers are the run's. The same
for `paysim runs compare` of a chaos run and a `demo --faults` run: both runs drawn, the fault marked,
and its deltas the two runs' own report figures."""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from typer.testing import Result

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CliInvoker = Callable[..., Result]
# Debian's package (make setup installs it: scripts/install_chromium.sh); Ubuntu's is chromium-browser.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
# The flags this machine's closed network needs (no background connections), as root (no sandbox).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = ["chart-rate", "chart-publish-latency", "chart-e2e-latency", "chart-lag", "chart-failures"]


@dataclass
class Runs:
    """What the module's two real demo runs left: each demo's JSON and its `runs report --json`, their
    pages, and `runs compare --json` of the two with its page."""

    demo: dict[str, Any]  # a chaos run (malformed events, duplicates)
    report: dict[str, Any]
    page: Path
    faults_demo: dict[str, Any]  # a `demo --faults` run: a worker killed during it
    faults_report: dict[str, Any]
    faults_page: Path
    comparison: dict[str, Any]
    comparison_page: Path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    from typer.testing import CliRunner

    from paysim_cli.app import app
    from paysim_cli.local.processes import free_port

    root = tmp_path_factory.mktemp("browser")

    def cli(*args: str) -> Result:
        return CliRunner().invoke(app, ["--state-dir", str(root / "state"), *args])

    with pytest.MonkeyPatch.context() as patch:  # as tests/conftest.py isolates each test
        for name in [name for name in os.environ if name.startswith("PAYSIM_")]:
            patch.delenv(name)
        # Its own AMQP port: the default 5672 may be taken by another stack on the machine meanwhile.
        patch.setenv("PAYSIM_AMQP_PORT", str(free_port()))
        patch.chdir(root)
        try:
            yield _runs(cli, root)
        finally:
            cli("local", "down")


def _runs(cli: Callable[..., Result], root: Path) -> Runs:
    demo, report = _demo(cli, root / "demo.html", "--profile", "chaos", "--rate", "2000", "--seed", "5")
    faults_demo, faults_report = _demo(
        cli, root / "faults.html", "--rate", "1000", "--seed", "6", "--faults", "worker-kill@1"
    )
    page = root / "compare.html"
    compared = cli(
        "runs",
        "compare",
        demo["run_id"],
        faults_demo["run_id"],
        "--no-verify",
        "--output",
        str(page),
        "--json",
    )
    assert compared.exit_code == 0, compared.output
    return Runs(
        demo=demo,
        report=report,
        page=root / "demo.html",
        faults_demo=faults_demo,
        faults_report=faults_report,
        faults_page=root / "faults.html",
        comparison=orjson.loads(compared.stdout)["data"],
        comparison_page=page,
    )


def _demo(cli: Callable[..., Result], page: Path, *options: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A 3-second demo with --report (one pipeline worker: fewer processes to start), its JSON, and
    `runs report --json` of its run."""
    demo = cli("demo", *options, "--duration", "3", "--workers", "1", "--report", str(page), "--json")
    assert demo.exit_code == 0, demo.output
    report = orjson.loads(demo.stdout)["data"]
    again = cli(
        "runs",
        "report",
        report["run_id"],
        "--no-verify",
        "--output",
        str(page.with_suffix(".again.html")),
        "--json",
    )
    assert again.exit_code == 0, again.output
    return report, orjson.loads(again.stdout)["data"]["report"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Drawn:
    """What Chromium made of a page: the requests it made, the errors it logged, per chart the drawn
    plots and each trace's data points, and the text of the elements asked for."""

    requests: list[str]
    errors: list[str]
    plots: dict[str, int]
    points: dict[str, dict[str, int]]  # chart -> trace name -> non-empty points
    shapes: dict[str, int]  # chart -> shapes drawn (the fault marks)
    texts: dict[str, str]


def _open(
    browser: Browser, page_file: Path, texts: tuple[str, ...] = (), *, screenshot: bool = False
) -> Drawn:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    drawn = Drawn([], [], {}, {}, {}, {})
    page.on("request", lambda request: drawn.requests.append(request.url))
    page.on("console", lambda message: drawn.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: drawn.errors.append(str(error)))
    try:
        page.goto(page_file.as_uri(), timeout=180_000)  # 5 MB of script on a loaded machine
        page.wait_for_selector("body[data-charts=drawn]", timeout=180_000)
        for chart in CHARTS:
            drawn.plots[chart] = page.locator(f"#{chart} .main-svg").count()
            drawn.points[chart] = page.evaluate(_POINTS, chart)
            drawn.shapes[chart] = page.locator(f"#{chart} .shapelayer path").count()
        drawn.texts = {selector: page.inner_text(selector) for selector in texts}
        if screenshot:  # beside the page, to look at when a test fails
            page.screenshot(path=str(page_file.with_suffix(".png")), full_page=True)
    finally:
        page.close()
    return drawn


def test_the_report_draws_every_chart_offline(runs: Runs, browser: Browser) -> None:
    drawn = _open(browser, runs.page, ("#verdict",), screenshot=True)

    assert drawn.requests == [runs.page.as_uri()]  # the page itself, and nothing else
    assert drawn.errors == []
    assert all(count > 0 for count in drawn.plots.values()), drawn.plots
    assert all(sum(traces.values()) > 0 for traces in drawn.points.values()), drawn.points  # data points
    assert drawn.texts["#verdict"] == "reconciles exactly"


def test_the_comparison_draws_both_runs_and_the_faults_offline(runs: Runs, browser: Browser) -> None:
    drawn = _open(browser, runs.comparison_page)

    assert drawn.requests == [runs.comparison_page.as_uri()]
    assert drawn.errors == []
    assert all(count > 0 for count in drawn.plots.values()), drawn.plots
    for chart in CHARTS:  # both runs drawn, with data: the faults run (default profile) sends no failures
        for side in ("A", "B") if chart != "chart-failures" else ("A",):
            points = [n for name, n in drawn.points[chart].items() if name.startswith(f"{side}: ")]
            assert sum(points) > 0, (side, chart, drawn.points[chart])
    assert any(name.startswith("B: ") for name in drawn.points["chart-failures"])
    # B's one fault on every chart: the span from its strike to its recovery, and the strike's line.
    assert set(drawn.shapes.values()) == {2}, drawn.shapes


def test_the_reports_numbers_are_the_runs(runs: Runs) -> None:
    demo, report, page_file = runs.demo, runs.report, runs.page
    figures, reconciliation = report["figures"], demo["reconciliation"]

    assert report["verdict"] == "reconciles"  # the demo's verify, recorded beside the manifest
    assert figures["sent"] == demo["sent"] == reconciliation["sent"]
    assert figures["end_to_end_latency_ms"] == demo["latency_ms"]  # the host's histogram, second by second
    assert figures["processed"] == demo["processed"] + demo["failed"] + demo["duplicates_dropped"]
    assert report["failed_item_codes"] == reconciliation["failed_item_codes"]
    by_code = {code: sum(counts) for code, counts in report["timeline"]["failed_items"].items()}
    assert by_code == reconciliation["failed_item_codes"]
    assert sum(report["timeline"]["duplicates_sent"]) == reconciliation["checks"][2]["expected"]

    page = page_file.read_text(encoding="utf-8")
    for check in reconciliation["checks"]:  # the reconciliation table, as `paysim verify` reported it
        cells = [check["name"], html.escape(check["rule"]), f"{check['expected']:,}", f"{check['actual']:,}"]
        assert "".join(f"<td>{cell}</td>" for cell in cells) in page


def test_the_comparisons_deltas_are_the_two_runs_reports(runs: Runs) -> None:
    comparison = runs.comparison
    deltas = {delta["measure"]: delta for delta in comparison["deltas"]}
    sides = {"a": runs.report["figures"], "b": runs.faults_report["figures"]}

    assert (comparison["a"]["run_id"], comparison["b"]["run_id"]) == (
        runs.demo["run_id"],
        runs.faults_demo["run_id"],
    )
    assert comparison["page"] == str(runs.comparison_page)
    for side, figures in sides.items():
        expected = {
            "achieved rate": figures["achieved_rate"],
            "failed items": figures["failed_items"],
            "duplicates sent": figures["duplicates_sent"],
            "undelivered": figures["failed"],
            "max lag": figures["max_lag"],
            "drain time": figures["drain_seconds"],
            **{f"publish latency {q}": figures["publish_latency_ms"][q] for q in ("p50", "p95", "p99")},
            **{f"end-to-end latency {q}": figures["end_to_end_latency_ms"][q] for q in ("p50", "p95", "p99")},
        }
        assert {measure: delta[side] for measure, delta in deltas.items()} == expected
    for delta in deltas.values():
        assert delta["change"] == pytest.approx(delta["b"] - delta["a"])
    assert deltas["failed items"]["a"] == sum(runs.demo["reconciliation"]["failed_item_codes"].values()) > 0
    assert deltas["failed items"]["outcome"] == "better"  # the faults run sent no malformed events
    assert comparison["verdict"] == {"a": "reconciles", "b": "reconciles", "outcome": "same"}


def test_a_faults_runs_report_marks_its_faults(runs: Runs) -> None:
    """The demo's own account of its faults (its JSON) is what the run's report marks."""
    struck = runs.faults_demo["faults"]["faults"]
    faults = runs.faults_report["faults"]
    assert (
        [(fault["number"], fault["kind"]) for fault in faults]
        == [(1, "worker-kill")]
        == [(item["number"], item["kind"]) for item in struck]
    )
    fault, item = faults[0], struck[0]
    assert item["recovery_seconds"] is not None
    recovery = datetime.fromisoformat(fault["recovered_at"]) - datetime.fromisoformat(fault["struck_at"])
    assert recovery.total_seconds() == pytest.approx(item["recovery_seconds"], abs=0.01)
    started = datetime.fromisoformat(runs.faults_report["started_at"])
    into_the_run = (datetime.fromisoformat(fault["struck_at"]) - started).total_seconds()
    assert 0 <= into_the_run < 3  # struck while the run was sending (--faults worker-kill@1)

    page = runs.faults_page.read_text(encoding="utf-8")
    embedded = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert embedded is not None
    for figure in orjson.loads(embedded[1]):
        labels = [note["text"] for note in figure["layout"]["annotations"] if note.get("xref") == "x"]
        assert labels == ["1: worker-kill"]
        assert [shape["type"] for shape in figure["layout"]["shapes"]] == ["rect", "line"]
    assert '<table id="faults">' in page


# Points Plotly drew for one chart, per trace: its non-empty values (Plotly keeps them on the element).
_POINTS = """(id) => Object.fromEntries(document.getElementById(id).data
    .map((trace) => [trace.name, trace.y.filter((value) => value !== null && value !== 0).length]))"""

"""A real demo run's report, opened in headless Chromium (Debian's package, driven by Playwright): every
chart draws with data, nothing logs an error, nothing is fetched, and its numbers are the run's."""

from __future__ import annotations

import html
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import Result

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


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, Any], dict[str, Any], Path]]:
    """A chaos demo (malformed events, duplicates) with --report: its JSON, `runs report --json`, the page."""
    from typer.testing import CliRunner

    from paysim_cli.app import app

    root = tmp_path_factory.mktemp("browser")
    page = root / "demo.html"

    def cli(*args: str) -> Result:
        return CliRunner().invoke(app, ["--state-dir", str(root / "state"), *args])

    with pytest.MonkeyPatch.context() as patch:  # as tests/conftest.py isolates each test
        for name in [name for name in os.environ if name.startswith("PAYSIM_")]:
            patch.delenv(name)
        patch.chdir(root)
        yield from _demo(cli, page)


def _demo(cli: Callable[..., Result], page: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any], Path]]:
    try:
        demo = cli(
            "demo",
            "--profile",
            "chaos",
            "--rate",
            "2000",
            "--duration",
            "3",
            "--seed",
            "5",
            "--report",
            str(page),
            "--json",
        )
        assert demo.exit_code == 0, demo.output
        report = orjson.loads(demo.stdout)["data"]
        again = cli(
            "runs",
            "report",
            report["run_id"],
            "--no-verify",
            "--output",
            str(page.with_name("again.html")),
            "--json",
        )
        assert again.exit_code == 0, again.output
        yield report, orjson.loads(again.stdout)["data"]["report"], page
    finally:
        cli("local", "down")


def test_the_report_draws_every_chart_offline(demo_run: tuple[dict[str, Any], dict[str, Any], Path]) -> None:
    from playwright.sync_api import sync_playwright

    _, _, page_file = demo_run
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_file.as_uri(), timeout=180_000)  # 5 MB of script on a loaded machine
            page.wait_for_selector("body[data-charts=drawn]", timeout=180_000)
            points = {chart: page.evaluate(_POINTS, chart) for chart in CHARTS}
            drawn = {chart: page.locator(f"#{chart} .main-svg").count() for chart in CHARTS}
            verdict = page.inner_text("#verdict")
            page.screenshot(path=str(page_file.with_suffix(".png")), full_page=True)
        finally:
            browser.close()

    assert requests == [page_file.as_uri()]  # the page itself, and nothing else
    assert errors == []
    assert all(count > 0 for count in drawn.values()), drawn
    assert all(count > 0 for count in points.values()), points  # every chart has data points
    assert verdict == "reconciles exactly"


def test_the_reports_numbers_are_the_runs(demo_run: tuple[dict[str, Any], dict[str, Any], Path]) -> None:
    demo, report, page_file = demo_run
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


# Points Plotly drew for one chart: the traces' non-empty values (Plotly keeps them on the element).
_POINTS = """(id) => document.getElementById(id).data
    .map((trace) => trace.y.filter((value) => value !== null && value !== 0).length)
    .reduce((sum, n) => sum + n, 0)"""

"""A run's report equals the run's own JSON report, and its page is whole: every chart, no network."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from typer.testing import Result

from paysim_cli.errors import PaysimError
from paysim_cli.runs.html import figures_of, render_html, write_run_report
from paysim_cli.runs.report import build_report
from paysim_cli.settings import Settings
from paysim_cli.simulator.simulation import SimulationReport, SimulationRequest, run_simulation

CHART_IDS = ["chart-rate", "chart-publish-latency", "chart-e2e-latency", "chart-lag", "chart-failures"]


@pytest.fixture(scope="module")
def chaos_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, SimulationReport]:
    """Two worker processes send a chaos run to a file: their series are merged when read."""
    root = tmp_path_factory.mktemp("report")
    settings = Settings(state_dir=root / "state")
    request = SimulationRequest.model_validate(
        {
            "profile": "chaos",
            "seed": 11,
            "rate": 3000,
            "count": 6000,
            "workers": 2,
            "output": root / "out.ndjson",
        }
    )
    return settings, run_simulation(settings, request)


def test_the_report_equals_the_runs_json_report(chaos_run: tuple[Settings, SimulationReport]) -> None:
    settings, run = chaos_run
    report = build_report(settings, run.run_id, verify=False)
    figures = report.figures

    assert len(report.series_files) == 2  # one per worker
    assert (figures.sent, figures.failed) == (run.sent, run.failed) == (6000, 0)
    assert figures.intended == run.planned
    assert figures.publish_latency_ms == run.latency_ms  # merged histograms: exactly the workers' total
    assert (figures.malformed_sent, figures.duplicates_sent) == (
        run.injected.malformed,
        run.injected.duplicates,
    )
    assert figures.malformed_sent > 0
    assert figures.duplicates_sent > 0
    assert figures.peak_target_rate == pytest.approx(3000)
    assert sum(report.timeline.sent) == run.sent
    assert report.verdict == "not verified"
    assert report.reconciliation is None
    assert figures.processed is None
    assert figures.end_to_end_latency_ms is None


def test_the_page_is_self_contained_and_has_every_chart(
    chaos_run: tuple[Settings, SimulationReport], tmp_path: Path
) -> None:
    settings, run = chaos_run
    path = tmp_path / "report.html"
    report = write_run_report(settings, run.run_id, path, verify=False)
    page = path.read_text(encoding="utf-8")

    assert page.startswith("<!DOCTYPE html>")
    assert "Plotly" in page
    assert len(page) > 3_000_000
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)  # nothing fetched
    for chart in CHART_IDS:
        assert f'id="{chart}"' in page
    embedded = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert embedded is not None
    figures = orjson.loads(embedded[1])
    assert [figure["id"] for figure in figures] == CHART_IDS
    rate = figures[0]["traces"]
    assert sum(rate[2]["y"]) == run.sent  # achieved
    assert render_html(report).count('class="chart"') == len(figures_of(report))


def test_an_unknown_run_is_run_not_found(settings: Settings) -> None:
    with pytest.raises(PaysimError) as raised:
        build_report(settings, "nope", verify=False)
    assert raised.value.code == "run_not_found"


def test_simulate_writes_its_report_when_asked(cli: Callable[..., Result], tmp_path: Path) -> None:
    page = tmp_path / "sent.html"
    result = cli(
        "simulate",
        "--count",
        "300",
        "--rate",
        "1000",
        "--output",
        str(tmp_path / "e.ndjson"),
        "--report",
        str(page),
    )
    assert result.exit_code == 0, result.output
    assert page.is_file()
    assert "written to" in result.stderr
    run_id = re.search(r"report of run (\S+) \(not verified\)", result.stderr)
    assert run_id is not None
    listed = cli(
        "runs", "report", run_id[1], "--no-verify", "--output", str(tmp_path / "again.html"), "--json"
    )
    assert orjson.loads(listed.stdout)["data"]["report"]["figures"]["sent"] == 300


def test_nothing_to_report_is_a_warning(cli: Callable[..., Result], tmp_path: Path) -> None:
    from paysim_cli.commands.run_report import write_requested_report
    from paysim_cli.output import Output

    errors = io.StringIO()
    output = Output(stdout=io.StringIO(), stderr=errors)
    write_requested_report(output, Settings(state_dir=tmp_path), tmp_path / "r.html", ["gone"], verify=False)
    assert "no run with a manifest" in errors.getvalue()
    assert not (tmp_path / "r.html").exists()

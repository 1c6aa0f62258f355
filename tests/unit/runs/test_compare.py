"""`paysim runs compare A B`: the deltas are the two runs' own report figures, B against A with the
better direction; the page overlays both runs on seconds since each run's start; every mistake is one
clear error. And a `demo --faults` run's faults, as the demo records them, marked on its timeline."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import Result

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.runs.compare import _delta, _verdict_outcome, compare_runs
from paysim_cli.runs.compare_html import comparison_figures, write_comparison
from paysim_cli.runs.faults import RunFault, RunFaults, write_faults
from paysim_cli.runs.html import figures_of, render_html
from paysim_cli.runs.layout import FAULTS_FILE, SERIES_DIRECTORY, run_directory
from paysim_cli.runs.report import build_report
from paysim_cli.settings import Settings
from paysim_cli.simulator.simulation import SimulationRequest, run_simulation

CHART_IDS = ["chart-rate", "chart-publish-latency", "chart-e2e-latency", "chart-lag", "chart-failures"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A flat run (A) and a faster chaos run (B), each sent to a file: series, no pipeline."""
    root = tmp_path_factory.mktemp("compare")
    settings = Settings(state_dir=root / "state")
    for run_id, profile, rate, count in (("before", "default", 1500, 3000), ("after", "chaos", 3000, 6000)):
        request = {"profile": profile, "seed": 3, "rate": rate, "count": count, "run_id": run_id}
        run_simulation(
            settings, SimulationRequest.model_validate(request | {"output": root / f"{run_id}.nd"})
        )
    return settings


@pytest.fixture
def copied(two_runs: Settings, tmp_path: Path) -> Settings:
    """The two runs in a state directory of this test's own, to add or remove files in."""
    settings = Settings(state_dir=tmp_path / "state")
    shutil.copytree(two_runs.state_dir / "runs", settings.state_dir / "runs")
    return settings


def test_the_deltas_are_the_two_reports_figures(two_runs: Settings) -> None:
    comparison, a, b = compare_runs(two_runs, "before", "after", verify=False)
    reports = [build_report(two_runs, run_id, verify=False).figures for run_id in ("before", "after")]
    deltas = {delta.measure: delta for delta in comparison.deltas}

    assert [a.figures, b.figures] == reports
    for side, figures in zip(("a", "b"), reports, strict=True):
        assert deltas["achieved rate"].model_dump()[side] == figures.achieved_rate
        assert figures.publish_latency_ms is not None
        assert deltas["publish latency p95"].model_dump()[side] == figures.publish_latency_ms.p95
        assert deltas["publish latency p99"].model_dump()[side] == figures.publish_latency_ms.p99
        assert deltas["duplicates sent"].model_dump()[side] == figures.duplicates_sent
        assert deltas["failed items"].model_dump()[side] == figures.failed_items == 0
    rate = deltas["achieved rate"]
    assert rate.b is not None
    assert rate.a is not None
    assert rate.b > rate.a
    assert rate.change == pytest.approx(rate.b - rate.a)
    assert rate.relative == pytest.approx((rate.b - rate.a) / rate.a)
    assert (rate.better, rate.outcome) == ("higher", "better")
    assert deltas["duplicates sent"].outcome == "worse"  # the chaos profile sends them
    assert deltas["end-to-end latency p50"].outcome == "not comparable"  # no pipeline saw either run
    assert (comparison.a.run_id, comparison.b.run_id, comparison.b.profile) == ("before", "after", "chaos")
    assert comparison.verdict.model_dump() == {
        "a": "not verified",
        "b": "not verified",
        "outcome": "not comparable",
    }


def test_which_way_is_better() -> None:
    assert _delta("p99", "ms", "lower", 10.0, 8.0).outcome == "better"
    assert _delta("p99", "ms", "lower", 10.0, 12.5).model_dump() | {"measure": ""} == {
        "measure": "",
        "unit": "ms",
        "a": 10.0,
        "b": 12.5,
        "change": 2.5,
        "relative": 0.25,
        "better": "lower",
        "outcome": "worse",
    }
    assert _delta("rate", "events/s", "higher", 0.0, 5.0).relative is None  # no relative change from 0
    assert _delta("lag", "events", "lower", 7, 7).outcome == "same"
    assert _delta("lag", "events", "lower", None, 7).outcome == "not comparable"
    assert _verdict_outcome("differs", "reconciles") == "better"
    assert _verdict_outcome("reconciles", "differs") == "worse"
    assert _verdict_outcome("reconciles", "not verified") == "not comparable"


def test_the_page_overlays_both_runs_from_their_starts(two_runs: Settings, tmp_path: Path) -> None:
    comparison, a, b = compare_runs(two_runs, "before", "after", verify=False)
    page = write_comparison(comparison, a, b, tmp_path / "compare.html").read_text(encoding="utf-8")

    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)  # nothing fetched
    embedded = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert embedded is not None
    figures = orjson.loads(embedded[1])
    assert [figure["id"] for figure in figures] == CHART_IDS
    achieved = {trace["name"]: trace for trace in figures[0]["traces"] if "achieved" in trace["name"]}
    assert set(achieved) == {"A: achieved (acknowledged)", "B: achieved (acknowledged)"}
    assert sum(achieved["A: achieved (acknowledged)"]["y"]) == 3000
    assert sum(achieved["B: achieved (acknowledged)"]["y"]) == 6000
    for trace in achieved.values():  # seconds since the run's start, whatever its wall time
        assert trace["x"][0] == 0
        assert trace["x"] == sorted(trace["x"])
    assert figures[0]["layout"]["xaxis"]["title"]["text"] == "seconds since the run's start"
    assert 'id="deltas"' in page
    assert "<td>achieved rate (events/s)</td>" in page
    assert '<td class="better">better</td>' in page


def test_mistakes_are_one_clear_error(cli: Callable[..., Result], copied: Settings) -> None:
    for a, b, code, exit_code in (
        ("before", "before", "same_run", ExitCode.USAGE),
        ("before", "nope", "run_not_found", ExitCode.CONFIG),
        ("nope", "after", "run_not_found", ExitCode.CONFIG),
    ):
        with pytest.raises(PaysimError) as raised:
            compare_runs(copied, a, b, verify=True)
        assert (raised.value.code, raised.value.exit_code) == (code, exit_code)
        assert "`paysim runs list`" in (raised.value.hint or "")
    shutil.rmtree(run_directory(copied, "after") / SERIES_DIRECTORY)
    with pytest.raises(PaysimError) as raised:
        compare_runs(copied, "before", "after", verify=True)
    assert (raised.value.code, raised.value.exit_code) == ("run_has_no_series", ExitCode.CONFIG)
    assert "run after has no time series" in raised.value.message
    said = cli("--state-dir", str(copied.state_dir), "runs", "compare", "before", "after")
    assert said.exit_code == ExitCode.CONFIG
    assert [line.split(" ", 2)[:2] for line in said.stderr.splitlines()] == [
        ["error", "[run_has_no_series]:"],
        ["hint:", "`paysim"],
    ]


def test_the_command_prints_the_table_or_json(
    cli: Callable[..., Result], copied: Settings, tmp_path: Path
) -> None:
    state = ["--state-dir", str(copied.state_dir)]
    shown = cli(*state, "runs", "compare", "before", "after", "--no-verify")
    assert shown.exit_code == 0, shown.output
    assert "B (after) against A (before)" in shown.stdout
    assert "--output FILE.html draws the charts" in shown.stdout
    page = tmp_path / "c.html"
    printed = cli(
        *state, "runs", "compare", "before", "after", "--no-verify", "--output", str(page), "--json"
    )
    assert printed.exit_code == 0, printed.output
    data = orjson.loads(printed.stdout)["data"]
    assert data["page"] == str(page.resolve())
    assert page.is_file()
    assert [delta["measure"] for delta in data["deltas"]][:2] == ["achieved rate", "publish latency p50"]


def _faults(settings: Settings, run_id: str) -> list[RunFault]:
    """One fault recovered after 0.5 s, one never, while the run was sending."""
    began = build_report(settings, run_id, verify=False).timeline.time[0]
    faults = [
        RunFault(
            number=1,
            kind="worker-kill",
            struck_at=began + timedelta(seconds=0.25),
            recovered_at=began + timedelta(seconds=0.75),
            detail="killed worker 1 (pid 11)",
        ),
        RunFault(
            number=2,
            kind="postgres-restart",
            struck_at=began + timedelta(seconds=1.5),
            recovered_at=None,
            detail="stopped PostgreSQL",
            problem="not recovered within 90 s",
        ),
    ]
    write_faults(settings, run_id, RunFaults(spec="worker-kill@0.25,postgres-restart@1.5", faults=faults))
    return faults


def test_a_faults_run_has_each_fault_marked_with_its_recovery(copied: Settings) -> None:
    faults = _faults(copied, "after")
    report = build_report(copied, "after", verify=False)
    assert report.faults == faults

    for figure in figures_of(report):
        layout: dict[str, Any] = figure["layout"]
        spans = [shape for shape in layout["shapes"] if shape["type"] == "rect"]
        assert [(span["x0"], span["x1"]) for span in spans] == [
            (f"{faults[0].struck_at:%Y-%m-%d %H:%M:%S.%f}", f"{faults[0].recovered_at:%Y-%m-%d %H:%M:%S.%f}"),
            # Never recovered: shaded to the end of the timeline, in the other colour.
            (f"{faults[1].struck_at:%Y-%m-%d %H:%M:%S.%f}", f"{report.timeline.time[-1]:%Y-%m-%d %H:%M:%S}"),
        ]
        assert spans[0]["fillcolor"] != spans[1]["fillcolor"]
        labels = [note["text"] for note in layout["annotations"] if note.get("xref") == "x"]
        assert labels == ["1: worker-kill", "2: postgres-restart (not recovered)"]
    page = render_html(report)
    assert '<table id="faults">' in page
    assert "<td>0.50 s</td>" in page
    assert "<td>not recovered</td>" in page


def test_the_comparison_marks_each_runs_faults(copied: Settings) -> None:
    _faults(copied, "after")
    _, a, b = compare_runs(copied, "before", "after", verify=False)
    rate = comparison_figures(a, b)[0]["layout"]
    assert [note["text"] for note in rate["annotations"] if note.get("xref") == "x"] == [
        "B 1: worker-kill",
        "B 2: postgres-restart (not recovered)",
    ]
    struck = [shape["x0"] for shape in rate["shapes"] if shape["type"] == "rect"]
    assert all(0 <= offset < 3 for offset in struck)  # seconds since B's start, not epoch seconds


def test_a_damaged_faults_file_is_an_error(copied: Settings) -> None:
    (run_directory(copied, "after") / FAULTS_FILE).write_text('{"spec": "poison"}', encoding="utf-8")
    with pytest.raises(PaysimError) as raised:
        build_report(copied, "after", verify=False)
    assert (raised.value.code, raised.value.exit_code) == ("invalid_faults_file", ExitCode.CONFIG)

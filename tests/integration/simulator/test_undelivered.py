"""A local log that breaks mid-run: the events it refused are in the run's undelivered file, none lost."""

from __future__ import annotations

import sqlite3

import orjson

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings
from paysim_cli.simulator.progress import RunProgress
from paysim_cli.simulator.simulation import SimulationRequest, run_simulation


def test_a_broken_local_log_leaves_undelivered_events_in_the_run(
    settings: Settings, local_log: LocalEventLog
) -> None:
    def break_the_log(progress: RunProgress) -> None:
        if progress.sent:
            with sqlite3.connect(settings.event_log_path) as db:
                db.execute("DROP TABLE IF EXISTS events_2")

    report = run_simulation(
        settings, SimulationRequest(rate=20000, count=20000, seed=1), on_progress=break_the_log
    )
    assert report.status == "target_error"
    assert report.error is not None
    assert "no such table" in report.error
    assert report.failed > 0
    assert report.undelivered == report.manifest.parent / "undelivered.ndjson"
    lines = [orjson.loads(line) for line in report.undelivered.read_bytes().splitlines()]
    assert len(lines) == report.failed
    assert {line["error"] for line in lines} == {"hub_storage_error"}
    assert all(orjson.loads(line["body"])["customer"]["id"] == line["partition_key"] for line in lines)
    manifest = orjson.loads(report.manifest.read_bytes())
    assert manifest["totals"]["undelivered"] == report.failed
    assert manifest["totals"]["delivered"] == report.sent
    assert manifest["undelivered_file"] == str(report.undelivered)

"""The pipeline's own Function app (function/function_app.py) hosted over the local log, on the real
PostgreSQL and Azurite: the run it processes reconciles exactly, and its raw events feed clustering."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from typer.testing import Result

from paysim_cli import migrations
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings

CliInvoker = Callable[..., Result]


def _data(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = orjson.loads(result.stdout)
    return document["data"]


def test_a_chaos_run_through_the_hosted_function_reconciles(
    cli: CliInvoker, settings: Settings, database_url: str, blob_connection_string: str
) -> None:
    env = {
        "PAYSIM_DATABASE_URL": database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": blob_connection_string,
        "PAYSIM_RAW_EVENTS_CONTAINER": f"raw-{uuid.uuid4().hex[:12]}",
    }
    migrations.upgrade(settings.override(database_url=database_url))
    LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
    run = _data(
        cli("simulate", "--profile", "chaos", "--count", "4000", "--rate", "20000", "--seed", "11", "--json")
    )
    assert run["injected"]["malformed"] > 0
    assert run["injected"]["duplicates"] > 0

    report = _data(cli("pipeline", "run", "--until-drained", "--batch-size", "300", "--json", env=env))
    assert (report["status"], report["events"], report["lag"], report["failed_invocations"]) == (
        "drained",
        run["sent"],
        0,
        0,
    )
    (timed,) = report["runs"]
    assert (timed["run_id"], timed["events"]) == (run["run_id"], run["sent"])
    assert 0 < timed["latency_ms"]["p50"] <= timed["latency_ms"]["p99"]

    verdict = _data(cli("verify", run["run_id"], "--json", env=env))
    assert verdict["passed"] is True
    assert verdict["processed"] + verdict["failed"] + verdict["duplicates_dropped"] == run["sent"]

    clusters = _data(cli("metrics", "cluster", "-k", "2", "--min-events", "5", "--json", env=env))
    assert clusters["events"] == verdict["processed"]
    assert clusters["duplicates_skipped"] == verdict["duplicates_dropped"]  # the archive has them all
    assert sum(group["merchants"] for group in clusters["clusters"]) == clusters["merchants"] >= 2

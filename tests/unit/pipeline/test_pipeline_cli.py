"""`paysim pipeline run` as a user runs it: worker processes hosting the test Function app."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest
from cli_results import json_data
from typer.testing import Result

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.pipeline.consumer import CLAIM_INTERVAL_SECONDS
from paysim_cli.pipeline.host import PipelineHost, PipelineRequest
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from conftest import Publish, Recording

CliInvoker = Callable[..., Result]
# The test app needs the database and blob settings to be set, not reachable.
APP_ENV = {
    "PAYSIM_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/unused",
    "PAYSIM_BLOB_CONNECTION_STRING": "x",
}


def _run(cli: CliInvoker, fixture_app: Path, *options: str, env: dict[str, str] | None = None) -> Result:
    return cli(
        "pipeline",
        "run",
        "--function-dir",
        str(fixture_app),
        "--function",
        "record_batches",
        "--consumer-group",
        "pipeline",
        *options,
        env=APP_ENV | (env or {}),
    )


def test_two_workers_share_the_partitions_and_deliver_each_event_once(
    fixture_app: Path,
    host_settings: Settings,
    publish: Publish,
    recording: Recording,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INVOCATION_SECONDS", "0.02")
    request = PipelineRequest(
        function_dir=fixture_app, function_name="record_batches", consumer_group="pipeline", batch_size=1
    )
    with PipelineHost(host_settings, request) as host:
        host.wait_ready()
        time.sleep(2 * CLAIM_INTERVAL_SECONDS + 0.5)  # both workers have claimed their share by now
        publish(
            [OutgoingEvent(f"{p}-{n}".encode(), partition_id=str(p)) for p in range(4) for n in range(25)]
        )
        status = host.run_until(until_drained=True, should_stop=lambda: False, timeout=60)
        report = host.stop(status)

    delivered = Counter(
        (batch["partition_context"]["PartitionId"], event["sequence_number"])
        for batch in recording.batches
        for event in batch["events"]
    )
    assert set(delivered.values()) == {1}
    assert len(delivered) == report.events == 100
    workers_by_partition = {
        partition: {
            batch["pid"]
            for batch in recording.batches
            if batch["partition_context"]["PartitionId"] == partition
        }
        for partition in "0123"
    }
    assert sorted(len(pids) for pids in workers_by_partition.values()) == [1, 1, 1, 1]
    assert len(set.union(*workers_by_partition.values())) == 2
    assert (report.status, report.lag, report.workers, report.batches, report.failed_invocations) == (
        "drained",
        0,
        2,
        100,
        0,
    )
    assert [partition.checkpoint_sequence_number for partition in report.partitions] == [24] * 4
    app_settings = recording.batches[0]["app_settings"]
    assert app_settings["PAYSIM_CONSUMER_GROUP"] == "pipeline"
    assert app_settings["PAYSIM_EVENTHUB_NAME"] == "payments"
    assert app_settings["PAYSIM_DATABASE_URL"] == str(host_settings.database_url)


def test_a_failing_batch_is_redelivered_and_reported(
    cli: CliInvoker, fixture_app: Path, host_settings: Settings, publish: Publish, recording: Recording
) -> None:
    publish([OutgoingEvent(b'{"n": 1}', partition_id="0", properties={"run_id": "r1", "intended_ms": 1})])
    result = _run(cli, fixture_app, "--workers", "1", "--until-drained", env={"FAIL_INVOCATIONS": "2"})

    assert result.exit_code == 0, result.output
    assert len(recording.attempts) == 3
    assert len(recording.events) == 1
    assert "2 invocations failed; the last: RuntimeError: injected failure 2 of 2" in result.stderr
    assert "drained" in result.stdout
    assert "run r1: 1 event," in result.stdout


def test_an_empty_hub_drains_at_once(
    cli: CliInvoker, fixture_app: Path, host_settings: Settings, recording: Recording
) -> None:
    report = json_data(_run(cli, fixture_app, "--workers", "1", "--until-drained", "--json"))
    assert (report["status"], report["events"], report["throughput"], report["runs"]) == (
        "drained",
        0,
        0.0,
        [],
    )
    assert report["latency_ms"] == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}


@pytest.mark.parametrize(
    ("options", "code", "exit_code"),
    [
        (["--function", "nope"], "function_not_found", ExitCode.CONFIG),
        (["--function-dir", "."], "function_app_not_found", ExitCode.CONFIG),
    ],
)
def test_a_function_the_host_cannot_load(
    cli: CliInvoker,
    fixture_app: Path,
    host_settings: Settings,
    options: list[str],
    code: str,
    exit_code: ExitCode,
) -> None:
    result = _run(cli, fixture_app, "--workers", "1", *options, "--json")
    assert result.exit_code == exit_code, result.output
    assert orjson.loads(result.stdout)["error"]["code"] == code


def test_without_a_local_log_or_a_database(cli: CliInvoker, fixture_app: Path, settings: Settings) -> None:
    result = _run(cli, fixture_app, "--json")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert orjson.loads(result.stdout)["error"]["code"] == "hub_not_found"
    result = cli("pipeline", "run", "--function-dir", str(fixture_app), "--json")
    assert orjson.loads(result.stdout)["error"]["code"] == "database_not_configured"


def test_ctrl_c_stops_the_workers_gracefully(
    cli: CliInvoker, fixture_app: Path, host_settings: Settings
) -> None:
    interrupt = threading.Timer(2.0, os.kill, args=(os.getpid(), signal.SIGINT))
    interrupt.start()
    try:
        result = _run(cli, fixture_app, "--workers", "1", "--json")
    finally:
        interrupt.join()
    # The report, then exit 130: in --json mode the report travels inside the error document.
    assert result.exit_code == ExitCode.INTERRUPTED, result.output
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "interrupted"
    assert (error["report"]["status"], error["report"]["interrupted_by"]) == ("interrupted", "SIGINT")


def test_a_worker_that_dies_is_an_error(cli: CliInvoker, host_settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("import os\nos._exit(3)\n")
    result = cli("pipeline", "run", "--function-dir", str(tmp_path), "--workers", "1", "--json", env=APP_ENV)
    assert result.exit_code == ExitCode.FAILURE
    error = orjson.loads(result.stdout)["error"]
    assert (error["code"], error["message"]) == ("worker_crashed", "pipeline worker 0 exited with status 3")


def test_the_host_waits_for_its_workers_and_times_out(host_settings: Settings, fixture_app: Path) -> None:
    request = PipelineRequest(function_dir=fixture_app, function_name="record_batches", workers=1)
    with PipelineHost(host_settings, request) as host:
        with pytest.raises(PaysimError) as raised:
            host.wait_ready(timeout=0)
        assert raised.value.code == "worker_not_ready"
        host.wait_ready()
        assert host.run_until(until_drained=False, should_stop=lambda: False, timeout=0.1) == "timed_out"
        report = host.stop("timed_out")
    assert (report.status, report.workers, report.events) == ("timed_out", 1, 0)

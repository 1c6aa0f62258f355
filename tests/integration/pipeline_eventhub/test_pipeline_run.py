"""`paysim pipeline run --source eventhub` through the local AMQP endpoint with the SDK's consumer
client, the Blob checkpoint store on the real Azurite and the pipeline's Function app on the real
PostgreSQL: a simulate run sent through the SDK reconciles, and a restart resumes from the checkpoints."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore
from cli_results import json_data
from typer.testing import Result

from paysim_cli.errors import ExitCode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.local.processes import free_port
from paysim_cli.local.state import azurite_connection_string
from paysim_cli.pipeline.eventhub_source import CHECKPOINT_CONTAINER
from paysim_cli.settings import Settings

CliInvoker = Callable[..., Result]


def test_a_run_sent_through_the_sdk_is_processed_once_and_a_restart_resumes_from_checkpoints(
    cli: CliInvoker, eventhub_settings: Settings, eventhub_env: dict[str, str]
) -> None:
    run = json_data(
        cli(
            "simulate",
            "--target",
            "eventhub",
            "--count",
            "1500",
            "--rate",
            "5000",
            "--seed",
            "5",
            "--json",
            env=eventhub_env,
        )
    )
    assert run["sent"] == 1500, orjson.dumps(run).decode()[:1500]

    pipeline = ["pipeline", "run", "--source", "eventhub", "--until-drained", "--json"]
    report = json_data(cli(*pipeline, env=eventhub_env))
    assert (report["source"], report["status"], report["lag"], report["failed_invocations"]) == (
        "eventhub",
        "drained",
        0,
        0,
    )
    # Each worker has its assigned partitions from the start: no batch is delivered twice.
    assert report["events"] == run["sent"]
    (timed,) = report["runs"]
    assert timed["run_id"] == run["run_id"]
    assert 0 < timed["latency_ms"]["p50"] <= timed["latency_ms"]["p99"]

    verdict = json_data(cli("verify", run["run_id"], "--json", env=eventhub_env))
    assert verdict["passed"] is True
    assert verdict["processed"] + verdict["failed"] + verdict["duplicates_dropped"] >= run["sent"]

    with LocalEventLog.open(eventhub_settings.event_log_path) as log:
        last = {pid: log.partition_info(pid).last_enqueued_sequence_number for pid in log.partition_ids()}
    store = BlobCheckpointStore.from_connection_string(
        str(eventhub_settings.blob_connection_string), CHECKPOINT_CONTAINER
    )
    namespace = str(eventhub_settings.eventhub_connection_string).split("sb://", 1)[1].split(";", 1)[0]
    checkpoints = {
        row["partition_id"]: row["sequence_number"]
        for row in store.list_checkpoints(namespace, eventhub_settings.eventhub_name, "$Default")
    }
    assert checkpoints == {partition: number for partition, number in last.items() if number >= 0}
    assert {row["partition_id"] for row in report["partitions"]} == set(last)

    restarted = json_data(cli(*pipeline, "--workers", "1", env=eventhub_env))
    assert (restarted["status"], restarted["events"], restarted["lag"]) == ("drained", 0, 0)


def test_an_unreachable_checkpoint_store_fails_before_any_worker_starts(
    cli: CliInvoker, eventhub_env: dict[str, str]
) -> None:
    unreachable = azurite_connection_string(free_port())
    env = eventhub_env | {"PAYSIM_BLOB_CONNECTION_STRING": unreachable}
    result = cli("pipeline", "run", "--source", "eventhub", "--until-drained", "--json", env=env)
    # Unreachable is exit 4, as wherever blob storage is (metrics cluster, the archive's check).
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert orjson.loads(result.stdout)["error"]["code"] == "blob_unavailable"

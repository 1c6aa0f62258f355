"""`paysim archive check | repair` on the real PostgreSQL, Azurite and local log: the archive against
the pipeline's checkpoints, gaps listed, and re-archived from the hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from azure.storage.blob import ContainerClient
from typer.testing import Result

from paysim_cli.errors import ExitCode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventPublisher
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.reconcile.archive import ArchiveScope, check_archive, repair_archive
from paysim_cli.settings import Settings
from paysim_pipeline.config import PipelineConfig
from paysim_pipeline.processor import BatchProcessor, IncomingEvent
from paysim_pipeline.sinks.blob import blob_name, decode_raw_events

CliInvoker = Callable[..., Result]
BATCH = 40
PER_PARTITION = 120  # three batches each


@pytest.fixture
def container(db_settings: Settings) -> Iterator[ContainerClient]:
    with ContainerClient.from_connection_string(
        str(db_settings.blob_connection_string), db_settings.raw_events_container
    ) as client:
        yield client


@pytest.fixture
def pipelined(db_settings: Settings) -> Settings:
    """Four partitions of events, each processed by the pipeline's processor in batches of 40."""
    with LocalEventLog.create(db_settings.event_log_path, 4) as log:
        LocalEventPublisher(log).publish(
            [
                OutgoingEvent(
                    b"not json" if number % 7 == 0 else orjson.dumps({"n": number}),
                    partition_id=str(partition),
                    properties={"run_id": "r", "n": number},
                )
                for partition in range(4)
                for number in range(PER_PARTITION)
            ]
        )
        config = PipelineConfig(
            database_url=str(db_settings.database_url),
            blob_connection_string=db_settings.blob_connection_string,
            raw_events_container=db_settings.raw_events_container,
            eventhub_name=db_settings.eventhub_name,
        )
        processor = BatchProcessor(config)
        try:
            for partition in "0123":
                for first in range(0, PER_PARTITION, BATCH):
                    batch = [
                        IncomingEvent(
                            e.body,
                            e.sequence_number,
                            e.offset,
                            e.enqueued_time,
                            e.partition_key,
                            e.properties,
                        )
                        for e in log.read(partition, first, BATCH)
                    ]
                    processor.process(batch, partition, db_settings.consumer_group)
        finally:
            processor.close()
    return db_settings


def _name(settings: Settings, partition: str, first: int, last: int) -> str:
    return blob_name(settings.eventhub_name, settings.consumer_group, partition, first, last)


def _gaps(report: Any) -> dict[str, list[tuple[int, int]]]:
    return {
        partition.partition_id: [(gap.first, gap.last) for gap in partition.gaps]
        for partition in report.partitions
        if partition.gaps
    }


def test_an_archive_that_covers_every_checkpoint_is_complete(pipelined: Settings) -> None:
    report = check_archive(pipelined)
    assert (report.complete, report.missing_events, report.consumer_group) == (True, 0, "$Default")
    assert [(p.partition_id, p.checkpoint, p.blobs, p.hub_first) for p in report.partitions] == [
        (partition, PER_PARTITION - 1, 3, 0) for partition in "0123"
    ]
    assert all(
        p.checked is not None and (p.checked.first, p.checked.last) == (0, 119) for p in report.partitions
    )
    assert check_archive(pipelined, ArchiveScope(deep=True)).complete


def test_lost_blobs_are_gaps_and_a_repair_writes_the_hubs_events_again(
    pipelined: Settings, container: ContainerClient, cli: CliInvoker, archive_env: dict[str, str]
) -> None:
    lost = [_name(pipelined, "1", 40, 79), _name(pipelined, "3", 80, 119)]
    originals = {name: list(decode_raw_events(container.download_blob(name).readall())) for name in lost}
    for name in lost:
        container.delete_blob(name)

    result = cli("archive", "check", "--json", env=archive_env)
    assert result.exit_code == ExitCode.VERIFY_FAILED
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "archive_incomplete"
    assert error["message"] == (
        "the raw-events archive misses 80 committed events: partition 1 40..79, partition 3 80..119"
    )
    assert "`paysim archive repair`" in error["hint"]
    human = cli("archive", "check", env=archive_env)
    assert "partition 1: gap 40..79 (40)" in human.stdout

    result = cli("archive", "repair", "--json", env=archive_env)
    assert result.exit_code == 0, result.output
    repair = orjson.loads(result.stdout)["data"]
    assert [(item["partition_id"], item["first"], item["last"]) for item in repair["repaired"]] == [
        ("1", 40, 79),
        ("3", 80, 119),
    ]
    assert (repair["events_archived"], repair["before"]["missing_events"], repair["after"]["complete"]) == (
        80,
        80,
        True,
    )
    for name, envelopes in originals.items():
        rewritten = list(decode_raw_events(container.download_blob(name).readall()))
        # The same events, bodies (JSON, or base64 when not JSON), properties and coordinates.
        assert rewritten == envelopes


def test_a_damaged_blob_is_found_by_a_deep_check_and_replaced(
    pipelined: Settings, container: ContainerClient
) -> None:
    damaged = _name(pipelined, "2", 0, 39)
    container.upload_blob(damaged, b"\x1f\x8b truncated", overwrite=True)
    assert check_archive(pipelined).complete  # its name still covers the range
    deep = check_archive(pipelined, ArchiveScope(deep=True))
    assert (_gaps(deep), deep.partitions[2].unreadable_blobs) == ({"2": [(0, 39)]}, [damaged])

    repair = repair_archive(pipelined, ArchiveScope(deep=True))
    assert repair.deleted_unreadable_blobs == [damaged]
    assert repair.after.complete
    assert [
        envelope["sequence_number"]
        for envelope in decode_raw_events(container.download_blob(damaged).readall())
    ] == list(range(40))


def test_a_gap_the_hub_no_longer_holds_is_reported_as_unrepairable(
    pipelined: Settings, container: ContainerClient, cli: CliInvoker, archive_env: dict[str, str]
) -> None:
    container.delete_blob(_name(pipelined, "0", 0, 39))
    container.delete_blob(_name(pipelined, "0", 80, 119))
    with LocalEventLog.open(pipelined.event_log_path) as log:
        log.purge(before=datetime.now(UTC) + timedelta(seconds=1))  # retention has passed: all gone
    report = check_archive(pipelined, ArchiveScope(partition_ids=("0",)))
    (partition,) = report.partitions
    assert partition.hub_first is None
    # The archive's first blob starts at 40 now: the start of the committed range cannot be known.
    assert ([(gap.first, gap.last) for gap in partition.gaps], report.unrepairable_events) == (
        [(80, 119)],
        40,
    )

    repair = repair_archive(pipelined, ArchiveScope(partition_ids=("0",)))
    assert (repair.repaired, repair.after.missing_events) == ([], 40)
    failure = repair.failure()
    assert failure is not None
    assert "40 of the events are no longer in the hub" in str(failure.hint)
    human = cli("archive", "repair", "--partition", "0", env=archive_env)
    assert human.exit_code == ExitCode.VERIFY_FAILED
    assert "re-archived 0 events in 0 blobs" in human.stdout
    assert "40 of the missing events are no longer in the hub" in human.stdout


def test_the_scope_narrows_the_check(
    pipelined: Settings, container: ContainerClient, cli: CliInvoker, archive_env: dict[str, str]
) -> None:
    container.delete_blob(_name(pipelined, "1", 40, 79))
    narrow = check_archive(pipelined, ArchiveScope(partition_ids=("1",), from_sequence=50, to_sequence=60))
    assert [(p.partition_id, p.checked.first if p.checked else None) for p in narrow.partitions] == [
        ("1", 50)
    ]
    assert _gaps(narrow) == {"1": [(50, 60)]}
    assert check_archive(pipelined, ArchiveScope(partition_ids=("0", "2"))).complete
    result = cli("archive", "check", "--partition", "9", "--json", env=archive_env)
    assert result.exit_code == ExitCode.USAGE
    assert orjson.loads(result.stdout)["error"]["code"] == "partition_not_found"


def test_a_partition_the_pipeline_has_not_committed_has_nothing_to_cover(db_settings: Settings) -> None:
    LocalEventLog.create(db_settings.event_log_path, 2).close()
    report = check_archive(db_settings)
    assert report.complete
    assert [(p.partition_id, p.checkpoint, p.checked) for p in report.partitions] == [
        ("0", None, None),
        ("1", None, None),
    ]

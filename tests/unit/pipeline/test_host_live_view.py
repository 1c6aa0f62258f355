"""The host's live view: partitions and lag at a terminal, a line every five seconds otherwise."""

from __future__ import annotations

import io

from paysim_cli.commands.pipeline.live import host_view
from paysim_cli.hub.lag import PartitionLag
from paysim_cli.latency import LatencySummary
from paysim_cli.output import Output
from paysim_cli.pipeline.report import HostProgress


def _progress(elapsed: float, lag: int) -> HostProgress:
    return HostProgress(
        elapsed=elapsed,
        workers_ready=2,
        events=12_000,
        batches=30,
        failed_invocations=1,
        last_error="RuntimeError: boom",
        lag=lag,
        partitions=[
            PartitionLag(
                partition_id="0", last_enqueued_sequence_number=99, checkpoint_sequence_number=None, lag=lag
            ),
            PartitionLag(
                partition_id="1", last_enqueued_sequence_number=5, checkpoint_sequence_number=5, lag=0
            ),
        ],
        latency_ms=LatencySummary(p50=12.5, p95=80.0, p99=120.0, max=300.0),
    )


def _output(*, tty: bool) -> tuple[Output, io.StringIO]:
    stderr = io.StringIO()
    return Output(stdout=io.StringIO(), stderr=stderr, is_tty=tty), stderr


def test_at_a_terminal_a_table_of_partitions() -> None:
    output, stderr = _output(tty=True)
    with host_view(output) as update:
        assert update is not None
        update(_progress(1.0, 1500))
    text = stderr.getvalue()
    assert "2 workers ready" in text
    assert "none" in text  # partition 0 has no checkpoint yet
    assert "1,500" in text
    assert "p50/p95/p99" in text
    assert "120.0" in text


def test_without_a_terminal_a_line_every_five_seconds() -> None:
    output, stderr = _output(tty=False)
    with host_view(output) as update:
        assert update is not None
        for second in range(7):
            update(_progress(float(second), 10 - second))
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 2  # at 0 and 5 s
    assert "lag 5" in lines[1]
    assert "failed invocations 1" in lines[1]


def _retrying(progress: HostProgress) -> HostProgress:
    from datetime import UTC, datetime, timedelta

    from paysim_cli.pipeline.consumer import PartitionRetry

    retry = PartitionRetry(
        partition_id="1",
        worker=0,
        first_sequence_number=6,
        last_sequence_number=9,
        failing_since=datetime.now(UTC) - timedelta(seconds=42),
        failed_attempts=7,
        last_error="OperationalError: [connection] to postgresql://app:s3cret@db/x refused\x00",
    )
    return progress.model_copy(update={"retrying": [retry]})


def test_a_retrying_partition_stands_out_with_its_error_inert_and_masked() -> None:
    output, stderr = _output(tty=True)
    with host_view(output) as update:
        assert update is not None
        update(_retrying(_progress(1.0, 4)))
    text = " ".join(stderr.getvalue().split())
    assert "retrying: 7 failures in 42 s" in text
    assert "partition 1: OperationalError: [connection]" in text  # brackets printed, not markup
    assert "s3cret" not in text
    assert "\x00" not in text
    assert "\\x00" in text

    output, stderr = _output(tty=False)
    with host_view(output) as update:
        assert update is not None
        update(_retrying(_progress(0.0, 4)))
    assert "\n  partition 1 retrying: 7 failures in 42 s: OperationalError" in stderr.getvalue()

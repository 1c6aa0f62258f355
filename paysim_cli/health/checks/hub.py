"""The event hub's checks: reachable, the consumer group's lag and its trend, and freshness."""

from __future__ import annotations

import time
from contextlib import closing
from datetime import UTC, datetime

from paysim_cli.health.backlog import BacklogReader, BacklogSample, hub_target
from paysim_cli.health.checks.base import CheckContext, grade, limits, result
from paysim_cli.health.models import CheckName, CheckResult, CheckStatus
from paysim_cli.hub.operations import hub_name
from paysim_cli.hub.targets import open_consumer


def check_hub(context: CheckContext) -> CheckResult:
    """The hub answers and lists its partitions."""
    settings = context.settings
    target = hub_target(settings)
    with closing(open_consumer(settings, target)) as consumer:
        partitions = consumer.partition_ids()
    return result(
        CheckName.HUB,
        CheckStatus.OK,
        f"{hub_name(settings, target)}: {len(partitions)} partitions",
        value=f"{len(partitions)} partitions",
        target=target.value,
        partitions=len(partitions),
    )


def check_lag(context: CheckContext) -> CheckResult:
    """Events not processed yet, summed over partitions, and how fast that grows between two samples."""
    thresholds = context.thresholds
    with BacklogReader(context) as reader:
        first = reader.sample()
        context.lag_sampled.set()
        time.sleep(thresholds.lag_sample_seconds)
        second = reader.sample()
        database_error = reader.database_error
    elapsed = second.taken_at - first.taken_at
    trend = (second.total_lag - first.total_lag) / elapsed if elapsed > 0 else 0.0
    lag = second.total_lag
    status = grade(lag, thresholds.lag_warn, thresholds.lag_fail)
    behind = [partition for partition in second.partitions if partition.lag]
    message = (
        f"{lag:,} events behind on {len(behind)} of {len(second.partitions)} partitions"
        if lag
        else f"caught up on all {len(second.partitions)} partitions"
    )
    hint = None
    if database_error is not None:
        message += f" (counted from the host's checkpoints: {database_error.message})"
        status = CheckStatus.WARN if status is CheckStatus.OK else status
        hint = database_error.hint
    elif status is not CheckStatus.OK:
        hint = (
            "the pipeline is falling behind: check that it runs (the function check), then scale it out "
            "(more workers, or Event Hubs partitions and Function instances)"
        )
    return result(
        CheckName.LAG,
        status,
        message,
        value=f"{lag:,} events, {trend:+,.0f}/s",
        threshold=limits(thresholds.lag_warn, thresholds.lag_fail, "events"),
        hint=hint,
        lag=lag,
        trend_per_second=round(trend, 1),
        checkpoint_source=second.source,
        partitions=_partitions(second),
    )


def _partitions(sample: BacklogSample) -> list[dict[str, object]]:
    return [
        {
            "partition_id": partition.partition_id,
            "last_enqueued_sequence_number": partition.last_enqueued_sequence_number,
            "host_checkpoint": partition.host_checkpoint,
            "committed": partition.committed,
            "lag": partition.lag,
        }
        for partition in sample.partitions
    ]


def check_freshness(context: CheckContext) -> CheckResult:
    """How long the oldest unprocessed event has waited; nothing waiting is fresh, however idle."""
    thresholds = context.thresholds
    with BacklogReader(context) as reader:
        sample = reader.sample()
        waiting = {
            partition.partition_id: partition.first_waiting
            for partition in sample.partitions
            if partition.lag
        }
        enqueued = reader.hub.enqueued_times(waiting)
        now = datetime.now(UTC)
        waits = {
            partition_id: max(0.0, (now - moment).total_seconds())
            for partition_id, moment in enqueued.items()
        }
    limit = limits(thresholds.freshness_warn_seconds, thresholds.freshness_fail_seconds, "s")
    unread = sorted(set(waiting) - set(waits), key=int)
    if unread and not waits:
        # Events wait but none could be read in time: not knowing is not fresh.
        return result(
            CheckName.FRESHNESS,
            CheckStatus.UNKNOWN,
            f"events wait on partitions {', '.join(unread)}, but none could be read to time them",
            threshold=limit,
            hint="the hub answered slowly; see the hub check, or raise check_timeout_seconds",
            unread_partitions=unread,
        )
    if not waits:
        return result(
            CheckName.FRESHNESS,
            CheckStatus.OK,
            "no event is waiting",
            value="0 s",
            threshold=limit,
            oldest_wait_seconds=0.0,
        )
    stalest = max(waits, key=lambda partition_id: waits[partition_id])
    oldest = waits[stalest]
    status = grade(oldest, thresholds.freshness_warn_seconds, thresholds.freshness_fail_seconds)
    return result(
        CheckName.FRESHNESS,
        status,
        f"the oldest waiting event (partition {stalest}) has waited {oldest:,.1f} s",
        value=f"{oldest:,.1f} s",
        threshold=limit,
        hint=None
        if status is CheckStatus.OK
        else "events wait unprocessed: see the lag and function checks; a stopped pipeline shows here first",
        oldest_wait_seconds=round(oldest, 3),
        partition_id=stalest,
        waiting_partitions=sorted(waits, key=int),
    )

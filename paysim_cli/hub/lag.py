"""The one lag model: how many events of a partition a consumer group has not processed yet."""

from __future__ import annotations

from paysim_cli.hub.transport import PartitionInfo


def partition_lag(info: PartitionInfo, checkpoint: int | None) -> int:
    """Events after `checkpoint` (the last sequence number processed); all held events without one.

    An empty partition has lag 0, and a checkpoint older than the oldest event held (retention ran)
    counts only what is still held.
    """
    if info.is_empty:
        return 0
    done = info.beginning_sequence_number - 1 if checkpoint is None else checkpoint
    return max(0, info.last_enqueued_sequence_number - max(done, info.beginning_sequence_number - 1))


def first_waiting_sequence_number(info: PartitionInfo, checkpoint: int | None) -> int:
    """The sequence number of the oldest event not processed yet (when the lag is positive)."""
    return max(info.beginning_sequence_number, -1 if checkpoint is None else checkpoint + 1)

"""Delivery through the transport seam: retries with backoff, the undelivered file, the NDJSON file target."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from paysim_cli.hub.targets import HubTarget
from paysim_cli.hub.transport import (
    MAX_BATCH_BYTES,
    EventPublisher,
    HubError,
    OutgoingEvent,
    PublishResult,
    TransientHubError,
)
from paysim_cli.retry import RetryPolicy
from paysim_cli.settings import Settings


@dataclass(frozen=True, slots=True)
class Delivery:
    """How one publish call ended: delivered (no error), or given up on with the last error."""

    retries: int
    batches: int = 0
    error: HubError | None = None

    @property
    def permanent_failure(self) -> bool:
        """The target refused in a way retrying cannot fix."""
        return self.error is not None and not isinstance(self.error, TransientHubError)


def publish_with_retry(
    publisher: EventPublisher,
    events: Sequence[OutgoingEvent],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    jitter: random.Random,
    give_up: Callable[[], bool] = lambda: False,
) -> Delivery:
    """Publish `events`, retrying transient errors; `give_up` ends the retries early (Ctrl-C)."""
    retries = 0
    while True:
        try:
            result = publisher.publish(events)
        except TransientHubError as transient:
            if retries + 1 >= policy.attempts or give_up():
                return Delivery(retries, error=transient)
            sleep(policy.delay(retries, jitter))
            retries += 1
        except HubError as permanent:
            return Delivery(retries, error=permanent)
        else:
            return Delivery(retries, batches=result.batches)


class UndeliveredLog:
    """Events the target never acknowledged, one JSON line each: partition key, error code, body."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[bytes] | None = None

    def write(self, events: Sequence[OutgoingEvent], error: HubError) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        self._file.write(
            b"".join(
                orjson.dumps(
                    {"partition_key": event.partition_key, "error": error.code, "body": event.body.decode()}
                )
                + b"\n"
                for event in events
            )
        )
        self._file.flush()
        self.count += len(events)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class NdjsonFilePublisher:
    """The `--output FILE.ndjson` target: each event body on its own line, in send order."""

    max_batch_bytes = MAX_BATCH_BYTES

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")

    def partition_ids(self) -> list[str]:
        return ["0"]

    def warm_up(self) -> None:
        """The file is open once the publisher exists: nothing more to open."""

    def publish(self, events: Sequence[OutgoingEvent]) -> PublishResult:
        self._file.write(b"".join(event.body + b"\n" for event in events))
        return PublishResult(events=len(events), batches=1, by_partition={"0": len(events)})

    def close(self) -> None:
        self._file.close()


def open_target(settings: Settings, target: HubTarget, output: Path | None) -> EventPublisher:
    """The publisher a run sends through: the NDJSON file when `output` is given, else the hub."""
    if output is not None:
        return NdjsonFilePublisher(output)
    from paysim_cli.hub.targets import open_publisher

    return open_publisher(settings, target)


def worker_file(path: Path, worker: int, workers: int) -> Path:
    """The part of a run's file a worker process writes; a single worker writes the file itself."""
    return path if workers == 1 else path.with_name(f"{path.name}.worker{worker}")


def join_worker_files(path: Path, workers: int) -> None:
    """Concatenate the workers' parts of `path`, in worker order, into `path`."""
    parts = [
        part for part in (worker_file(path, worker, workers) for worker in range(workers)) if part != path
    ]
    existing = [part for part in parts if part.exists()]
    if not existing:
        return
    with path.open("wb") as joined:
        for part in existing:
            with part.open("rb") as source:
                shutil.copyfileobj(source, joined)
            part.unlink()

"""A replay's batches: claimed in id order, run by one or more workers, each batch one transaction.

Workers take the next batch in turn: under a mutex, a worker locks the next matching items after
the last one any worker took (`FOR UPDATE SKIP LOCKED`, so items another replay holds are passed
over, never waited for), then replays and records them in its own transaction while the next worker
locks the following batch. Every batch commits whole or not at all, whichever worker runs it.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from paysim_cli.dlq import store
from paysim_cli.dlq.models import ReplayReport, ReplayRequest
from paysim_cli.dlq.outcomes import Recorder, Tally
from paysim_cli.dlq.routes import ItemOutcome, LockedItem, ReplayRoute, check_items, open_checker
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.interrupts import Interruption
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.dlq.routes import RouteBatch

ProgressCallback = Callable[[int, int], None]  # (items attempted, items matched)
PAUSE_STEP_SECONDS = 0.1


def _isolatable() -> tuple[type[Exception], ...]:
    """Errors that may come from an item's own payload (the processor's rule, `caused_by_events`,
    tells them apart): the batch is split until the item that fails alone is isolated."""
    from paysim_pipeline.processor import POSSIBLY_EVENT_ERRORS

    return POSSIBLY_EVENT_ERRORS


def _caused_by_items(error: Exception) -> bool:
    from paysim_pipeline.processor import caused_by_events

    return caused_by_events(error)


def _unavailable() -> tuple[type[BaseException], ...]:
    import psycopg

    from paysim_pipeline.sinks.blob import RawEventsUnavailable

    return (psycopg.OperationalError, RawEventsUnavailable, PaysimError)


class ReplayRun:
    """One replay or dry run over the matching items, in id order."""

    def __init__(
        self,
        request: ReplayRequest,
        where: str,
        params: dict[str, Any],
        matched: int,
        edits: Mapping[int, bytes],
        *,
        stop: Interruption,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.request, self.where, self.params, self.matched = request, where, params, matched
        self.edits, self.stop, self.on_progress = edits, stop, on_progress
        self.tally = Tally()
        self.started = time.monotonic()
        self._claim = threading.Lock()  # one worker at a time locks the next batch
        self._count = threading.Lock()  # the tally, the progress callback
        self._after_id = 0
        self._exhausted = False
        self._in_flight = 0  # items locked by a worker, not yet in the tally

    def replay(self, routes: Sequence[ReplayRoute], recorder: Recorder) -> ReplayReport:
        """Run the batches on one worker thread per route until none is left, the limit is reached or a
        stop is asked for; the first error stops every worker after its batch, then is raised."""
        failed = threading.Event()

        def stopping() -> bool:
            return failed.is_set() or self.stop.is_set()

        def work(route: ReplayRoute) -> None:
            try:
                while self._more(stopping) and self._next_batch(route, recorder):
                    self._after_batch()
            except BaseException:
                failed.set()
                raise

        if len(routes) == 1:
            work(routes[0])  # in this thread: a route may hold objects bound to it (SQLite)
        else:
            with ThreadPoolExecutor(len(routes), thread_name_prefix="dlq-replay") as pool:
                futures = [pool.submit(work, route) for route in routes]
                wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.result()  # the first error, now that every worker has stopped
        return self.report(recorder.operation_id, routes[0])

    def _more(self, should_stop: Callable[[], bool]) -> bool:
        limit = self.request.limit
        return not self._exhausted and not should_stop() and (limit is None or self._claimed < limit)

    @property
    def _claimed(self) -> int:
        return self.tally.attempted + self._in_flight

    def _batch_size(self) -> int:
        size = self.request.batch_size
        if self.request.rate is not None:
            size = min(size, max(1, math.ceil(self.request.rate)))  # at most a second's worth per batch
        if self.request.limit is not None:
            size = min(size, self.request.limit - self._claimed)
        return size

    def _bodies(self, items: Sequence[LockedItem]) -> list[bytes]:
        return [self.edits.get(item.id, item.raw_payload) for item in items]

    def _lock(
        self, batch: RouteBatch, limit: int, *, after_id: int, only_ids: list[int] | None
    ) -> list[LockedItem]:
        query = store.replay_batch_query(self.where, lock=True, only_ids=only_ids is not None)
        params = {**self.params, "after_id": after_id, "limit": limit, "only_ids": only_ids}
        return _items(batch.connection.execute(query, params, binary=True).fetchall())

    def _next_batch(self, route: ReplayRoute, recorder: Recorder) -> bool:
        """Lock the items after the last claimed one, replay, record and commit them; False when
        none is left."""
        locked: list[LockedItem] = []
        outcomes: list[ItemOutcome] = []
        try:
            with route.batch() as batch:
                with self._claim:
                    if not self._more(lambda: False):
                        return False
                    locked = self._lock(batch, self._batch_size(), after_id=self._after_id, only_ids=None)
                    if not locked:
                        self._exhausted = True
                        return False
                    self._after_id = locked[-1].id
                    self._in_flight += len(locked)
                try:
                    outcomes = batch.replay(locked, self._bodies(locked))
                    recorder.record(batch.connection, outcomes)
                finally:
                    with self._claim:
                        self._in_flight -= len(locked)
        except _isolatable() as error:
            if not locked or not _caused_by_items(error):
                raise
            self._isolate(route, recorder, locked, error)
            return True
        except _unavailable() as error:
            raise _stopped(error, self.tally.attempted) from error
        self._count_batch(outcomes)
        return True

    def _count_batch(self, outcomes: Sequence[ItemOutcome]) -> None:
        with self._count:
            self.tally.add(outcomes)

    def _isolate(
        self, route: ReplayRoute, recorder: Recorder, locked: list[LockedItem], error: Exception
    ) -> None:
        """Replay the halves of a failed batch apart; an item that fails alone is recorded as failed."""
        if len(locked) > 1:
            middle = len(locked) // 2
            for half in (locked[:middle], locked[middle:]):
                self._replay_ids(route, recorder, [item.id for item in half])
            return
        from paysim_pipeline.events import IncomingEvent
        from paysim_pipeline.processor import failed_alone

        (item,) = locked
        body = self._bodies([item])[0]
        # The stage and code the pipeline gives an event that fails alone (sink or process).
        rejection = failed_alone(IncomingEvent(body, item.id), error)
        with route.batch() as batch:
            if not self._lock(batch, 1, after_id=0, only_ids=[item.id]):
                return  # no longer matching: another replay took it meanwhile
            stage, code = str(rejection.stage), str(rejection.error_code)
            outcome = ItemOutcome(item, body, "failed", stage, code, rejection.message)
            recorder.record(batch.connection, [outcome])
        self._count_batch([outcome])

    def _replay_ids(self, route: ReplayRoute, recorder: Recorder, ids: list[int]) -> None:
        locked: list[LockedItem] = []
        try:
            with route.batch() as batch:
                locked = self._lock(batch, len(ids), after_id=0, only_ids=ids)
                if not locked:
                    return
                outcomes = batch.replay(locked, self._bodies(locked))
                recorder.record(batch.connection, outcomes)
        except _isolatable() as error:
            if not locked or not _caused_by_items(error):
                raise
            self._isolate(route, recorder, locked, error)
            return
        self._count_batch(outcomes)

    def _after_batch(self) -> None:
        with self._count:
            attempted = self.tally.attempted
            if self.on_progress is not None:
                self.on_progress(attempted, self.matched)
        if self.request.rate is not None:
            due = self.started + attempted / self.request.rate
            while not self.stop.is_set() and (pause := due - time.monotonic()) > 0:
                time.sleep(min(pause, PAUSE_STEP_SECONDS))  # a stop does not wait out the pause

    def dry_run(self, settings: Settings) -> ReplayReport:
        """What a replay would do: the processor's stages and a read of the dedupe table, no writes."""
        checker = open_checker(settings)
        claimed: set[tuple[str, int]] = set()
        try:
            with store.dlq_connection(settings, "replay") as conn:
                while self._more(self.stop.is_set):
                    query = store.replay_batch_query(self.where, lock=False)
                    params = {**self.params, "after_id": self._after_id, "limit": self._batch_size()}
                    items = _items(conn.execute(query, params, binary=True).fetchall())
                    if not items:
                        self._exhausted = True
                        break
                    self.tally.add(check_items(checker, items, self._bodies(items), claimed))
                    self._after_id = items[-1].id
                    if self.on_progress is not None:
                        self.on_progress(self.tally.attempted, self.matched)
        finally:
            checker.close()
        return self.report(None, None)

    def report(self, operation_id: uuid.UUID | None, route: ReplayRoute | None) -> ReplayReport:
        elapsed = time.monotonic() - self.started
        tally = self.tally
        stopped = not self._exhausted and self.stop.is_set()
        return ReplayReport(
            operation_id=operation_id,
            route=self.request.via,
            dry_run=self.request.dry_run,
            matched=self.matched,
            attempted=tally.attempted,
            processed=tally.total("processed"),
            duplicates=tally.total("duplicates"),
            published=tally.total("published"),
            failed=tally.total("failed"),
            # Matched, but gone when reached: replayed, or held, by another replay meanwhile.
            skipped=max(0, self.matched - tally.attempted) if self._exhausted else 0,
            batches=tally.batches,
            elapsed_seconds=round(elapsed, 3),
            items_per_second=round(tally.attempted / elapsed, 1) if elapsed > 0 else 0.0,
            interrupted_by=self.stop.signal_name if stopped else None,
            by_code=tally.codes(),
            destination=None if route is None else route.destination,
        )


def _items(rows: list[tuple[Any, ...]]) -> list[LockedItem]:
    # Binary results: the payloads arrive as their bytes, not hex text to decode.
    return list(map(LockedItem._make, rows))


def _stopped(error: BaseException, attempted: int) -> PaysimError:
    """The error that stopped a replay, saying that the batch it was in stays as it was."""
    import psycopg

    from paysim_pipeline.sinks.blob import RawEventsUnavailable

    done = f"{attempted:,} items replayed before it; the items of the failed batch stay as they were"
    if isinstance(error, PaysimError):
        return PaysimError(error.code, f"{error.message} ({done})", error.hint, exit_code=error.exit_code)
    if isinstance(error, RawEventsUnavailable):
        return PaysimError(
            "blob_unavailable",
            f"{error} ({done})",
            "check that the storage account is reachable (`paysim local status` for Azurite), "
            "then replay again",
            exit_code=ExitCode.UNAVAILABLE,
        )
    assert isinstance(error, psycopg.OperationalError)
    lost = store.database_lost(error)
    return PaysimError(lost.code, f"{lost.message} ({done})", lost.hint, exit_code=lost.exit_code)

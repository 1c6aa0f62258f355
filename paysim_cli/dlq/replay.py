"""`paysim dlq replay` as a service: resubmit failed items in batches, exactly once, with an audit trail.

Each batch is one transaction: lock the next matching items in id order (`FOR UPDATE SKIP LOCKED`, so
concurrent replays take disjoint items and never wait on each other), resubmit them on the route,
write their new status, attempts and error with one history row each, commit. An item is therefore
replayed and recorded, or neither; a rerun finds replayed items no longer pending, and the dedupe
table counts a payment once whichever item (or process) carries it. The replay walks the ids once
(keyset on id): an item that fails again stays pending for the next replay, not for this one.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from paysim_cli.dlq import store
from paysim_cli.dlq.actor import Actor, current_actor
from paysim_cli.dlq.bounds import CONFIRM_THRESHOLD, REPLAY_FAILED, REPLAY_STAGE, ItemStatus, Route
from paysim_cli.dlq.models import CodeOutcome, FailureReason, ItemFilter, ReplayReport, ReplayRequest
from paysim_cli.dlq.payload import storable_text
from paysim_cli.dlq.routes import (
    HubRoute,
    ItemOutcome,
    LockedItem,
    ProcessorRoute,
    ReplayRoute,
    check_items,
    open_checker,
)
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.db import Connection
    from paysim_cli.hub.targets import HubTarget

ProgressCallback = Callable[[int, int], None]  # (items attempted, items matched)


def replay_failed_items(
    settings: Settings,
    request: ReplayRequest,
    *,
    edits: Mapping[int, bytes] | None = None,
    target: HubTarget | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], object] = time.sleep,
    on_progress: ProgressCallback | None = None,
) -> ReplayReport:
    """Replay the items `request` selects (or, with `edits`, those ids with the edited payloads).

    Stops after the current batch once `should_stop()` is true; the report says it was interrupted.
    `target` is the hub for `--via hub` (default: the local log on the local stack, else Event Hubs).
    """
    item_filter = _with_edits(request.filter, edits)
    where, params = store.conditions(item_filter)
    with store.dlq_connection(settings, "replay") as conn:
        store.require_items(conn, item_filter.ids)
        (matched,) = conn.execute(store.count_query(where), {**params, "cap": request.limit}).fetchone() or (
            0,
        )
    _confirm(request, item_filter, matched)
    run = _ReplayRun(request, where, params, matched, edits or {}, sleep, on_progress)
    if request.dry_run:
        return run.dry_run(settings, should_stop)
    actor = current_actor(settings)
    operation_id = uuid.uuid4()
    route: ReplayRoute
    if request.via is Route.HUB:
        route = HubRoute(settings, operation_id, target or _default_target(settings))
    else:
        route = ProcessorRoute(settings, operation_id)
    try:
        return run.replay(route, _Recorder(operation_id, route.route, actor), should_stop)
    finally:
        route.close()


def _with_edits(item_filter: ItemFilter, edits: Mapping[int, bytes] | None) -> ItemFilter:
    if edits is None:
        return item_filter
    if item_filter.ids:
        raise PaysimError(
            "conflicting_options",
            "--id and --from-file both choose the items to replay",
            "give the ids in the file only (its lines' `id`)",
            exit_code=ExitCode.USAGE,
        )
    return item_filter.model_copy(update={"ids": tuple(sorted(edits))})


def _default_target(settings: Settings) -> HubTarget:
    from paysim_cli.hub.targets import HubTarget

    return HubTarget.LOCAL if settings.is_local else HubTarget.EVENTHUB


def _confirm(request: ReplayRequest, item_filter: ItemFilter, matched: int) -> None:
    if request.dry_run or request.confirmed:
        return
    if item_filter.status is ItemStatus.DISCARDED and matched:
        raise PaysimError(
            "confirmation_required",
            f"{matched:,} discarded items match: someone decided not to replay them",
            "check them with `paysim dlq list --status discarded`, then add --yes",
            exit_code=ExitCode.ABORTED,
        )
    if matched > CONFIRM_THRESHOLD:
        raise PaysimError(
            "confirmation_required",
            f"{matched:,} items match, more than {CONFIRM_THRESHOLD} without --yes",
            "see what would happen with --dry-run, then add --yes (or narrow the filters, or --limit)",
            exit_code=ExitCode.ABORTED,
        )


@dataclass
class _Tally:
    """Outcomes so far, overall and by the items' error code before the replay."""

    attempted: int = 0
    batches: int = 0
    by_code: dict[str, CodeOutcome] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # (code, new code) -> [n, msg]

    def add(self, outcomes: Iterable[ItemOutcome]) -> None:
        self.batches += 1
        for outcome in outcomes:
            self.attempted += 1
            code = self.by_code.setdefault(
                outcome.item.error_code, CodeOutcome(error_code=outcome.item.error_code)
            )
            code.items += 1
            if outcome.outcome == "failed":
                code.failed += 1
                reason = self.examples.setdefault(
                    (code.error_code, outcome.error_code or ""), [0, outcome.error_message or ""]
                )
                reason[0] += 1
            elif outcome.outcome == "duplicate":
                code.duplicates += 1
            elif outcome.outcome == "published":
                code.published += 1
            else:
                code.processed += 1

    def codes(self) -> list[CodeOutcome]:
        for (code, new_code), (items, example) in sorted(self.examples.items()):
            self.by_code[code].failures = [
                *[reason for reason in self.by_code[code].failures if reason.error_code != new_code],
                FailureReason(error_code=new_code, items=items, example=example),
            ]
        return sorted(self.by_code.values(), key=lambda entry: (-entry.items, entry.error_code))

    def total(self, name: str) -> int:
        return sum(getattr(code, name) for code in self.by_code.values())


class _Recorder:
    """Writes a batch's outcomes: the items' new status and error, and their history rows."""

    def __init__(self, operation_id: uuid.UUID, route: Route, actor: Actor) -> None:
        self.operation_id = operation_id
        self._fixed = {
            "operation_id": operation_id,
            "route": str(route),
            "actor": actor.name,
            "actor_kind": actor.kind,
        }

    def record(self, conn: Connection, outcomes: Sequence[ItemOutcome]) -> None:
        failed = [outcome.outcome == "failed" for outcome in outcomes]
        columns: dict[str, list[Any]] = {
            "id": [outcome.item.id for outcome in outcomes],
            "outcome": [outcome.outcome for outcome in outcomes],
            "status_before": [outcome.item.status for outcome in outcomes],
            "status_after": [
                outcome.item.status if is_failed else str(ItemStatus.REPLAYED)
                for outcome, is_failed in zip(outcomes, failed, strict=True)
            ],
            "stage": [outcome.stage for outcome in outcomes],
            "error_code": [outcome.error_code for outcome in outcomes],
            "error_message": [_storable(outcome.error_message) for outcome in outcomes],
            "replaced_error_code": [
                outcome.item.error_code if is_failed else None
                for outcome, is_failed in zip(outcomes, failed, strict=True)
            ],
            "replaced_error_message": [
                outcome.item.error_message if is_failed else None
                for outcome, is_failed in zip(outcomes, failed, strict=True)
            ],
            "payload": [
                outcome.body if outcome.body != outcome.item.raw_payload else None for outcome in outcomes
            ],
            "destination": [
                None if outcome.destination is None else orjson.dumps(outcome.destination).decode()
                for outcome in outcomes
            ],
        }
        conn.execute(store.RECORD_REPLAYS, {**columns, **self._fixed})


def _storable(text: str | None) -> str | None:
    return None if text is None else storable_text(text)


# Errors an item's own payload can cause after validation (a value PostgreSQL refuses, a conversion
# that raises): the batch is split until the item that fails alone is isolated and recorded.
def _isolatable() -> tuple[type[BaseException], ...]:
    import psycopg

    return (psycopg.DataError, psycopg.IntegrityError, ValueError, OverflowError)


class _ReplayRun:
    """One replay or dry run over the matching items, batch by batch in id order."""

    def __init__(
        self,
        request: ReplayRequest,
        where: str,
        params: dict[str, Any],
        matched: int,
        edits: Mapping[int, bytes],
        sleep: Callable[[float], object],
        on_progress: ProgressCallback | None,
    ) -> None:
        self.request, self.where, self.params, self.matched = request, where, params, matched
        self.edits, self.sleep, self.on_progress = edits, sleep, on_progress
        self.tally = _Tally()
        self.started = time.monotonic()

    def _batch_size(self) -> int:
        size = self.request.batch_size
        if self.request.rate is not None:
            size = min(size, max(1, math.ceil(self.request.rate)))  # at most a second's worth per batch
        if self.request.limit is not None:
            size = min(size, self.request.limit - self.tally.attempted)
        return size

    def _bodies(self, items: Sequence[LockedItem]) -> list[bytes]:
        return [self.edits.get(item.id, item.raw_payload) for item in items]

    def _after_batch(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.tally.attempted, self.matched)
        if self.request.rate is not None:
            due = self.started + self.tally.attempted / self.request.rate
            if (wait := due - time.monotonic()) > 0:
                self.sleep(wait)

    def _more(self, should_stop: Callable[[], bool]) -> bool:
        limit = self.request.limit
        return not should_stop() and (limit is None or self.tally.attempted < limit)

    def replay(
        self, route: ReplayRoute, recorder: _Recorder, should_stop: Callable[[], bool]
    ) -> ReplayReport:
        after_id, exhausted = 0, False
        while self._more(should_stop):
            locked = self._replay_batch(route, recorder, after_id, self._batch_size(), None)
            if not locked:
                exhausted = True
                break
            after_id = locked[-1].id
            self._after_batch()
        return self._report(recorder.operation_id, route, interrupted=not exhausted and should_stop())

    def _replay_batch(
        self,
        route: ReplayRoute,
        recorder: _Recorder,
        after_id: int,
        limit: int,
        only_ids: list[int] | None,
    ) -> list[LockedItem]:
        """Lock, resubmit, record and commit one batch; the items it locked (none: nothing left)."""
        locked: list[LockedItem] = []
        outcomes: list[ItemOutcome] = []
        query = store.replay_batch_query(self.where, lock=True, only_ids=only_ids is not None)
        params = {**self.params, "after_id": after_id, "limit": limit, "only_ids": only_ids}
        try:
            with route.batch() as batch:
                locked = [LockedItem(*row) for row in batch.connection.execute(query, params).fetchall()]
                if locked:
                    outcomes = batch.replay(locked, self._bodies(locked))
                    recorder.record(batch.connection, outcomes)
        except _isolatable() as error:
            if not locked:
                raise
            self._isolate(route, recorder, locked, error)
            return locked
        except _unavailable() as error:
            raise _stopped(error, self.tally.attempted) from error
        if locked:
            self.tally.add(outcomes)
        return locked

    def _isolate(
        self, route: ReplayRoute, recorder: _Recorder, locked: list[LockedItem], error: BaseException
    ) -> None:
        """Replay the halves of a failed batch apart; an item that fails alone is recorded as failed."""
        if len(locked) > 1:
            middle = len(locked) // 2
            for half in (locked[:middle], locked[middle:]):
                self._replay_batch(route, recorder, 0, len(half), [item.id for item in half])
            return
        (item,) = locked
        message = f"{type(error).__name__}: {' '.join(str(error).split())}"
        with route.batch() as batch:
            query = store.replay_batch_query(self.where, lock=True, only_ids=True)
            params = {**self.params, "after_id": 0, "limit": 1, "only_ids": [item.id]}
            if batch.connection.execute(query, params).fetchone() is None:
                return  # no longer matching: another replay took it meanwhile
            outcome = ItemOutcome(
                item,
                self._bodies([item])[0],
                "failed",
                stage=REPLAY_STAGE,
                error_code=REPLAY_FAILED,
                error_message=message,
            )
            recorder.record(batch.connection, [outcome])
        self.tally.add([outcome])

    def dry_run(self, settings: Settings, should_stop: Callable[[], bool]) -> ReplayReport:
        """What a replay would do: the processor's stages and a read of the dedupe table, no writes."""
        checker = open_checker(settings)
        claimed: set[tuple[str, int]] = set()
        after_id, exhausted = 0, False
        try:
            with store.dlq_connection(settings, "replay") as conn:
                while self._more(should_stop):
                    query = store.replay_batch_query(self.where, lock=False)
                    params = {**self.params, "after_id": after_id, "limit": self._batch_size()}
                    items = [LockedItem(*row) for row in conn.execute(query, params).fetchall()]
                    if not items:
                        exhausted = True
                        break
                    self.tally.add(check_items(checker, items, self._bodies(items), claimed))
                    after_id = items[-1].id
                    if self.on_progress is not None:
                        self.on_progress(self.tally.attempted, self.matched)
        finally:
            checker.close()
        return self._report(None, None, interrupted=not exhausted and should_stop())

    def _report(
        self, operation_id: uuid.UUID | None, route: ReplayRoute | None, *, interrupted: bool
    ) -> ReplayReport:
        elapsed = time.monotonic() - self.started
        tally = self.tally
        finished = not interrupted and (self.request.limit is None or tally.attempted < self.request.limit)
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
            skipped=max(0, self.matched - tally.attempted) if finished else 0,
            batches=tally.batches,
            elapsed_seconds=round(elapsed, 3),
            items_per_second=round(tally.attempted / elapsed, 1) if elapsed > 0 else 0.0,
            interrupted=interrupted,
            by_code=tally.codes(),
            destination=None if route is None else route.destination,
        )


def _unavailable() -> tuple[type[BaseException], ...]:
    import psycopg

    from paysim_pipeline.sinks.blob import RawEventsUnavailable

    return (psycopg.OperationalError, RawEventsUnavailable, PaysimError)


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

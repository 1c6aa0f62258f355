"""`paysim dlq replay` as a service: resubmit failed items in batches, exactly once, with an audit trail.

Each batch is one transaction: lock the next matching items in id order (`FOR UPDATE SKIP LOCKED`, so
concurrent replays take disjoint items and never wait on each other), resubmit them on the route,
write their new status, attempts and error with one history row each, commit. An item is therefore
replayed and recorded, or neither; a rerun finds replayed items no longer pending, and the dedupe
table counts a payment once whichever item (or process) carries it. The replay walks the ids once
(keyset on id): an item that fails again stays pending for the next replay, not for this one.
Batches run on `--workers` threads, each with its own connection (runner.py).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from paysim_cli.dlq import store
from paysim_cli.dlq.actor import current_actor
from paysim_cli.dlq.bounds import CONFIRM_THRESHOLD, ItemStatus, Route
from paysim_cli.dlq.models import ItemFilter, ReplayReport, ReplayRequest
from paysim_cli.dlq.outcomes import Recorder
from paysim_cli.dlq.routes import HubRoute, ProcessorRoute, ReplayRoute
from paysim_cli.dlq.runner import ProgressCallback, ReplayRun
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.hub.targets import HubTarget


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
    run = ReplayRun(request, where, params, matched, edits or {}, sleep=sleep, on_progress=on_progress)
    if request.dry_run:
        return run.dry_run(settings, should_stop)
    actor = current_actor(settings)
    operation_id = uuid.uuid4()
    routes: list[ReplayRoute] = []
    try:
        if request.via is Route.HUB:
            # One publisher, in this thread: the hub keeps each partition's order, and the local log's
            # SQLite connection belongs to the thread that opened it.
            routes.append(HubRoute(settings, operation_id, target or _default_target(settings)))
        else:
            workers = min(request.workers, max(1, math.ceil(matched / request.batch_size)))
            routes.extend(ProcessorRoute(settings, operation_id) for _ in range(workers))
        return run.replay(routes, Recorder(operation_id, request.via, actor), should_stop)
    finally:
        for route in routes:
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

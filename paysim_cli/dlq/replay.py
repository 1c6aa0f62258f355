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
import uuid
from collections.abc import Callable, Mapping
from contextlib import nullcontext

from paysim_cli.dlq import store
from paysim_cli.dlq.actor import current_actor
from paysim_cli.dlq.bounds import CONFIRM_THRESHOLD, ItemStatus, Route
from paysim_cli.dlq.models import ItemFilter, ReplayReport, ReplayRequest
from paysim_cli.dlq.outcomes import Recorder
from paysim_cli.dlq.routes import HubRoute, ProcessorRoute, ReplayRoute
from paysim_cli.dlq.runner import ProgressCallback, ReplayRun
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import default_transport
from paysim_cli.interrupts import Interruption, stop_on_signals
from paysim_cli.settings import Settings


def replay_failed_items(
    settings: Settings,
    request: ReplayRequest,
    *,
    edits: Mapping[int, bytes] | None = None,
    on_progress: ProgressCallback | None = None,
    confirm: Callable[[str], bool] = lambda question: False,
    interruption: Interruption | None = None,
) -> ReplayReport:
    """Replay the items `request` selects (or, with `edits`, those ids with the edited payloads).

    `confirm(question)` is asked when the replay needs a confirmation `request.confirmed` did not give.
    SIGINT or SIGTERM (or setting `interruption`) stops it after the batches in flight; the report
    says which signal did.
    """
    item_filter = _with_edits(request.filter, edits)
    where, params = store.conditions(item_filter)
    with store.dlq_connection(settings, "replay") as conn:
        store.require_items(conn, item_filter.ids)
        conn.execute(store.REFRESH_STATE_STATISTICS)
        (matched,) = conn.execute(store.count_query(where), {**params, "cap": request.limit}).fetchone() or (
            0,
        )
    _confirm(request, item_filter, matched, confirm)
    owned = stop_on_signals(Interruption()) if interruption is None else nullcontext(interruption)
    with owned as stop:
        run = ReplayRun(request, where, params, matched, edits or {}, stop=stop, on_progress=on_progress)
        if request.dry_run:
            return run.dry_run(settings)
        return _replay(settings, request, run, matched)


def _replay(settings: Settings, request: ReplayRequest, run: ReplayRun, matched: int) -> ReplayReport:
    actor = current_actor(settings)
    operation_id = uuid.uuid4()
    routes: list[ReplayRoute] = []
    try:
        if request.via is Route.HUB:
            # One publisher, in this thread: the hub keeps each partition's order, and the local log's
            # SQLite connection belongs to the thread that opened it.
            routes.append(HubRoute(settings, operation_id, request.transport or default_transport(settings)))
        else:
            workers = min(request.workers, max(1, math.ceil(matched / request.batch_size)))
            routes.extend(ProcessorRoute(settings, operation_id) for _ in range(workers))
        return run.replay(routes, Recorder(operation_id, request.via, actor))
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


def _confirm(
    request: ReplayRequest, item_filter: ItemFilter, matched: int, confirm: Callable[[str], bool]
) -> None:
    if request.dry_run or request.confirmed:
        return
    if item_filter.status is ItemStatus.DISCARDED and matched:
        if not confirm(f"Replay {matched:,} discarded items (someone decided not to replay them)?"):
            raise PaysimError(
                "confirmation_required",
                f"{matched:,} discarded items match: someone decided not to replay them",
                "check them with `paysim dlq list --status discarded`, then add --yes",
                exit_code=ExitCode.ABORTED,
            )
    elif matched > CONFIRM_THRESHOLD and not confirm(f"Replay {matched:,} failed items?"):
        raise PaysimError(
            "confirmation_required",
            f"{matched:,} items match, more than {CONFIRM_THRESHOLD} without --yes",
            "see what would happen with --dry-run, then add --yes (or narrow the filters, or --limit)",
            exit_code=ExitCode.ABORTED,
        )

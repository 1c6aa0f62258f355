"""`paysim dlq discard | purge` as services: set items aside with a reason, and delete old resolved ones.

A discarded item stays in failed_items (status `discarded`, a history row saying who and why) and can
still be replayed with --yes. Purge is the only delete: resolved items (discarded or replayed) whose
last change is older than a cutoff, with their history.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from paysim_cli.dlq import store
from paysim_cli.dlq.actor import current_actor
from paysim_cli.dlq.bounds import CONFIRM_THRESHOLD
from paysim_cli.dlq.models import DiscardReport, DiscardRequest, PurgeReport, PurgeRequest
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings


def discard_failed_items(
    settings: Settings, request: DiscardRequest, *, confirm: Callable[[str], bool] = lambda question: False
) -> DiscardReport:
    """Mark the matching pending items discarded, all in one transaction, each with a history row;
    more than CONFIRM_THRESHOLD of them need `request.confirmed` or `confirm(question)`."""
    where, params = store.conditions(request.filter)
    actor = current_actor(settings)
    operation_id = uuid.uuid4()
    with store.dlq_connection(settings, "discard", autocommit=False) as conn, conn.transaction():
        store.require_items(conn, request.filter.ids)
        (matched,) = conn.execute(store.count_query(where), {**params, "cap": None}).fetchone() or (0,)
        if matched > CONFIRM_THRESHOLD and not (request.confirmed or confirm(f"Discard {matched:,} items?")):
            raise PaysimError(
                "confirmation_required",
                f"{matched:,} items match, more than {CONFIRM_THRESHOLD} without --yes",
                "check them with `paysim dlq list` (same filters), then add --yes",
                exit_code=ExitCode.ABORTED,
            )
        discarded = conn.execute(
            store.discard_statement(where),
            {
                **params,
                "operation_id": operation_id,
                "actor": actor.name,
                "actor_kind": actor.kind,
                "reason": request.reason,
            },
        ).rowcount
    return DiscardReport(operation_id=operation_id, discarded=discarded, reason=request.reason)


def purge_failed_items(
    settings: Settings, request: PurgeRequest, *, confirm: Callable[[str], bool] = lambda question: False
) -> PurgeReport:
    """Delete the items of `request.status` last changed more than `older_than` ago; needs
    `request.confirmed` or `confirm(question)`."""
    question = f"Delete the {request.status} items last changed over {request.older_than} ago, for good?"
    if not (request.confirmed or confirm(question)):
        raise PaysimError(
            "confirmation_required",
            "purge deletes failed items and their history for good",
            "add --yes to confirm",
            exit_code=ExitCode.ABORTED,
        )
    cutoff = datetime.now(UTC) - request.older_than
    params = {"status": str(request.status), "cutoff": cutoff}
    with store.dlq_connection(settings, "purge") as conn:
        deleted, history = conn.execute(store.PURGE, params).fetchone() or (0, 0)
    return PurgeReport(status=request.status, cutoff=cutoff, deleted=deleted, history_deleted=history)

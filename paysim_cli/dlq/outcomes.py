"""What a replay did: the tally its report is made of, and the rows it writes to the audit trail."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from paysim_cli.dlq import store
from paysim_cli.dlq.actor import Actor
from paysim_cli.dlq.bounds import ItemStatus, Route
from paysim_cli.dlq.models import CodeOutcome, FailureReason
from paysim_cli.dlq.routes import ItemOutcome
from paysim_pipeline.storable import storable_text

if TYPE_CHECKING:
    from paysim_cli.db import Connection

# ItemOutcome.outcome -> the CodeOutcome counter it adds to.
_COUNTERS = {
    "processed": "processed",
    "duplicate": "duplicates",
    "published": "published",
    "failed": "failed",
}


@dataclass
class Tally:
    """Outcomes so far, overall and by the items' error code before the replay (plain counters: this
    runs for every item)."""

    attempted: int = 0
    batches: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (code, counter) -> items
    failures: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # (code, new code) -> [n, msg]

    def add(self, outcomes: Sequence[ItemOutcome]) -> None:
        self.batches += 1
        self.attempted += len(outcomes)
        counts, failures = self.counts, self.failures
        for outcome in outcomes:
            code = outcome.item.error_code
            counts[code, _COUNTERS[outcome.outcome]] += 1
            if outcome.outcome == "failed":
                failures.setdefault((code, outcome.error_code or ""), [0, outcome.error_message or ""])[
                    0
                ] += 1

    def codes(self) -> list[CodeOutcome]:
        by_code: dict[str, CodeOutcome] = {}
        for (code, counter), items in self.counts.items():
            entry = by_code.setdefault(code, CodeOutcome(error_code=code))
            setattr(entry, counter, items)
            entry.items += items
        for (code, new_code), (items, example) in sorted(self.failures.items()):
            by_code[code].failures.append(FailureReason(error_code=new_code, items=items, example=example))
        return sorted(by_code.values(), key=lambda entry: (-entry.items, entry.error_code))

    def total(self, counter: str) -> int:
        return sum(items for (_, name), items in self.counts.items() if name == counter)


class Recorder:
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
        # unnest pads a shorter array with NULLs: a column with no value in the batch is sent empty.
        lean = {
            name: values if any(value is not None for value in values) else []
            for name, values in columns.items()
        }
        conn.execute(store.RECORD_REPLAYS, {**lean, **self._fixed})


def _storable(text: str | None) -> str | None:
    return None if text is None else storable_text(text)

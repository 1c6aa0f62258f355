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
from paysim_cli.dlq.bounds import Route
from paysim_cli.dlq.models import CodeOutcome, FailureReason
from paysim_cli.dlq.routes import ItemOutcome
from paysim_pipeline.storable import storable_text

if TYPE_CHECKING:
    from paysim_cli.db import Connection

_FAILURE_COLUMNS = ("stage", "error_code", "error_message", "replaced_error_code", "replaced_error_message")

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
        # Ids, outcomes and statuses (digits and fixed words: nothing to quote) go as one array literal
        # each, not lists psycopg adapts item by item; the status after is derived in the statement.
        columns: dict[str, Any] = {
            "id": _array_literal([str(outcome.item.id) for outcome in outcomes]),
            "outcome": _array_literal([outcome.outcome for outcome in outcomes]),
            "status_before": _array_literal([outcome.item.status for outcome in outcomes]),
            **_failures(outcomes),
            "payload": _lean(
                [outcome.body if outcome.body != outcome.item.raw_payload else None for outcome in outcomes]
            ),
            "destination": _lean(
                [
                    None if outcome.destination is None else orjson.dumps(outcome.destination).decode()
                    for outcome in outcomes
                ]
            ),
        }
        conn.execute(store.RECORD_REPLAYS, {**columns, **self._fixed})


def _failures(outcomes: Sequence[ItemOutcome]) -> dict[str, list[Any]]:
    """The new and the replaced errors of the items that failed again (NULL for the others)."""
    if not any(outcome.outcome == "failed" for outcome in outcomes):
        return {column: [] for column in _FAILURE_COLUMNS}
    failed = [outcome if outcome.outcome == "failed" else None for outcome in outcomes]
    return {
        "stage": [None if outcome is None else outcome.stage for outcome in failed],
        "error_code": [None if outcome is None else outcome.error_code for outcome in failed],
        "error_message": [
            None if outcome is None else _storable(outcome.error_message) for outcome in failed
        ],
        "replaced_error_code": [None if outcome is None else outcome.item.error_code for outcome in failed],
        "replaced_error_message": [
            None if outcome is None else outcome.item.error_message for outcome in failed
        ],
    }


def _array_literal(words: list[str]) -> str:
    return "{" + ",".join(words) + "}"


def _lean(values: list[Any]) -> list[Any]:
    """unnest pads a shorter array with NULLs: a column with no value in the batch is sent empty."""
    return values if any(value is not None for value in values) else []


def _storable(text: str | None) -> str | None:
    return None if text is None else storable_text(text)

"""Canary payments (`paysim health --probe`) are recorded apart: no metric, run or dedupe row counts them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from paysim_cli.health.checks.canary import canary_body
from paysim_pipeline.canary import CANARY_RUN_PREFIX


def _canary() -> tuple[str, bytes]:
    transaction_id = str(uuid.uuid4())
    return transaction_id, canary_body(
        transaction_id, f"{CANARY_RUN_PREFIX}{uuid.uuid4().hex}", datetime.now(UTC)
    )


def test_a_canary_in_a_batch_of_payments_is_recorded_and_counted_nowhere(
    processor, make_batch, generated_bodies, query, totals
) -> None:
    payments = generated_bodies(50)
    processor.process(make_batch(payments[:25]), "0", "$Default")
    before = totals()
    transaction_id, canary = _canary()

    batch = make_batch([*payments[25:40], canary, *payments[40:]], first_sequence_number=25)
    outcome = processor.process(batch, "0", "$Default")

    assert (outcome.processed, outcome.duplicates_dropped, outcome.failed, outcome.canaries) == (25, 0, 0, 1)
    after = totals()
    assert after["metrics"][0] == before["metrics"][0] + 25
    assert after["runs"][0] == before["runs"][0] + 25
    assert after["dedupe"][0] == before["dedupe"][0] + 25
    assert [run for run, *_ in after["run_totals"]] == [run for run, *_ in before["run_totals"]]
    assert after["checkpoints"] == [("$Default", "0", 50)]
    rows = query(
        "SELECT transaction_id::text, source_partition, source_sequence_number, run_id FROM canary_payments"
    )
    assert rows[0][:3] == (transaction_id, "0", 40)
    assert rows[0][3].startswith(CANARY_RUN_PREFIX)
    assert query("SELECT count(*) FROM failed_items") == [(0,)]


def test_a_batch_of_only_a_canary_commits_its_checkpoint_and_a_redelivery_changes_nothing(
    processor, make_batch, query, totals
) -> None:
    before = totals()
    _, canary = _canary()

    first = processor.process(make_batch([canary], first_sequence_number=7), "3", "$Default")
    again = processor.process(make_batch([canary], first_sequence_number=7), "3", "$Default")
    # The producer retried: the same canary at a new sequence number is recorded once too.
    retried = processor.process(make_batch([canary], first_sequence_number=8), "3", "$Default")

    assert (first.canaries, first.processed, again.skipped_below_checkpoint, retried.canaries) == (1, 0, 1, 1)
    after = totals()
    assert {key: value for key, value in after.items() if key != "checkpoints"} == {
        key: value for key, value in before.items() if key != "checkpoints"
    }
    assert after["checkpoints"] == [("$Default", "3", 8)]
    assert query("SELECT count(*), min(source_sequence_number) FROM canary_payments") == [(1, 7)]

"""The canary payment is a valid event of the contract, and the pipeline tells it from a payment."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from paysim_cli.health.checks.canary import canary_body
from paysim_pipeline.canary import CANARY_RUN_PREFIX, is_canary_run
from paysim_pipeline.validate import EventValidator


def test_the_canary_passes_the_pipelines_validation() -> None:
    body = canary_body("0b7c9e2a-4f41-4d5e-9a51-0d6c3f1e2a7b", f"{CANARY_RUN_PREFIX}abc", datetime.now(UTC))
    document = orjson.loads(body)

    valid, positions, rejections = EventValidator().validate([document], [0], [body])

    assert (len(valid), positions, rejections) == (1, [0], [])
    assert is_canary_run(document["run_id"])


def test_only_the_reserved_prefix_marks_a_canary() -> None:
    assert is_canary_run("paysim-canary:0123")
    assert not is_canary_run("20261123T000000000Z-s7")
    assert not is_canary_run("my-paysim-canary:1")
    assert not is_canary_run(None)

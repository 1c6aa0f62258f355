"""`paysim demo --transport eventhub`: the simulator publishes and the pipeline consumes through the
Event Hubs SDK and the stack's AMQP endpoint, checkpoints in Azurite, and the run reconciles exactly."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from typer.testing import Result

CliInvoker = Callable[..., Result]


def test_the_demo_through_the_sdk_on_both_sides_reconciles(cli: CliInvoker) -> None:
    try:
        result = cli(
            "demo", "--transport", "eventhub", "--rate", "500", "--duration", "3", "--seed", "4", "--json"
        )
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)["data"]
        assert (report["transport"], report["sent"], report["pipeline"]) == ("eventhub", 1500, "drained")
        assert report["reconciliation"]["passed"] is True
        assert report["processed"] + report["failed"] + report["duplicates_dropped"] >= report["sent"]
        assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p99"]
        assert report["throughput"] > 0
    finally:
        cli("local", "down")

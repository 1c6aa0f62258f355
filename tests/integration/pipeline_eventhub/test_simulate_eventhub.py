"""`paysim simulate --transport eventhub` through the SDK and the local AMQP endpoint: without --workers
it chooses the workers for the rate and says so; every worker warms up before the clock, and the report
gives that set-up time apart from publish latency."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from typer.testing import Result

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings
from paysim_cli.simulator.simulation import EVENTHUB_EVENTS_PER_WORKER

CliInvoker = Callable[..., Result]


def test_workers_are_chosen_for_the_rate_and_warm_up_before_the_clock(
    cli: CliInvoker, eventhub_settings: Settings, eventhub_env: dict[str, str]
) -> None:
    rate = EVENTHUB_EVENTS_PER_WORKER + 1_000
    command = ["simulate", "--transport", "eventhub", "--rate", str(rate), "--count", "2000"]
    command += ["--throughput-units", "20"]
    human = cli(*command, "--seed", "3", env=eventhub_env)
    assert human.exit_code == 0, human.output
    assert "2 worker processes for eventhub at this rate" in human.stderr
    assert "--workers sets the number" in human.stderr
    assert "set-up before the clock" in human.stdout

    result = cli(*command, "--seed", "4", "--json", env=eventhub_env)
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)["data"]
    assert (report["workers"], report["sent"], report["failed"]) == (2, 2000, 0)
    assert report["setup_seconds"] > 0
    assert "worker processes for" not in result.stderr  # --json: the report says it (workers)
    with LocalEventLog.open(eventhub_settings.event_log_path) as log:
        stored = sum(log.partition_info(p).last_enqueued_sequence_number + 1 for p in log.partition_ids())
    assert stored == 4000

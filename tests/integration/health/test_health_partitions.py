"""`paysim health --json` as a user runs it (a new process), on a local stack with 32 partitions.

In a process of its own `paysim health` runs the blob check in a forked child (health/forked.py),
which the in-process tests never do (pytest has threads of its own, so they take the thread path):
these compare the two, and check that the report stays whole at 32 partitions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import closing
from typing import Any

import orjson
import pytest
from health_stack import prepare_stack, stack_env

from paysim_cli.health import CheckName, HealthRequest, run_checks
from paysim_cli.hub.targets import open_publisher
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.local.processes import free_port
from paysim_cli.local.state import azurite_connection_string
from paysim_cli.settings import Settings

PARTITIONS = 32
EVENTS = 640


@pytest.fixture
def wide_stack(settings: Settings, migrated_database_url: str, blob_connection_string: str) -> Settings:
    """A migrated stack whose event log has 32 partitions, holding 640 events nobody consumed."""
    stack = prepare_stack(
        settings.override(
            hub_partitions=PARTITIONS,
            database_url=migrated_database_url,
            blob_connection_string=blob_connection_string,
            raw_events_container=f"raw-{uuid.uuid4().hex[:12]}",
        ),
        migrate=False,
    )
    with closing(open_publisher(stack)) as publisher:
        publisher.publish([OutgoingEvent(b'{"n": %d}' % n, partition_key=str(n)) for n in range(EVENTS)])
    return stack


def _health(settings: Settings, *args: str, **env: str) -> dict[str, Any]:
    """`python -m paysim_cli health --json ARGS` in a new process; its report."""
    command = [sys.executable, "-m", "paysim_cli", "--state-dir", str(settings.state_dir), "health"]
    completed = subprocess.run(
        [*command, "--json", *args],
        env=os.environ | stack_env(settings) | env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    document = orjson.loads(completed.stdout)
    report: dict[str, Any] = document["data"] if "data" in document else document["error"]["report"]
    return report


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(check for check in report["checks"] if check["name"] == name)
    return found


def test_with_32_partitions_the_report_holds_every_check_and_every_partitions_lag(
    wide_stack: Settings,
) -> None:
    report = _health(wide_stack)

    expected = [name.value for name in HealthRequest().selected()]
    assert [check["name"] for check in report["checks"]] == expected
    lag = _check(report, "lag")
    partitions = lag["details"]["partitions"]
    assert [partition["partition_id"] for partition in partitions] == [str(n) for n in range(PARTITIONS)]
    for partition in partitions:  # nothing consumed: every event held is behind
        assert partition["committed"] is None
        assert partition["lag"] == partition["last_enqueued_sequence_number"] + 1
    assert lag["details"]["lag"] == sum(partition["lag"] for partition in partitions) == EVENTS
    assert lag["details"]["checkpoint_source"] == "database"
    assert "trend_per_second" in lag["details"]
    waiting = {partition["partition_id"] for partition in partitions if partition["lag"]}
    assert set(_check(report, "freshness")["details"]["waiting_partitions"]) == waiting
    assert _check(report, "hub")["details"]["partitions"] == PARTITIONS
    assert _check(report, "function")["details"]["partitions"] == PARTITIONS
    blob = _check(report, "blob")  # answered by the forked child
    assert (blob["status"], blob["value"]) == ("ok", "writable")
    assert _check(report, "function")["status"] == "fail"  # no pipeline runs: a real verdict, not a stub

    # The same look in this process (every check on a thread) says the same.
    in_process = run_checks(wide_stack, HealthRequest())
    assert {check["name"]: check["status"] for check in report["checks"]} == {
        check.name.value: check.status.value for check in in_process.checks
    }
    threaded_lag = next(check for check in in_process.checks if check.name is CheckName.LAG)
    assert threaded_lag.details["partitions"] == partitions


def test_the_forked_blob_check_fails_like_the_threaded_one_when_blob_storage_is_unreachable(
    wide_stack: Settings,
) -> None:
    unreachable = wide_stack.override(blob_connection_string=azurite_connection_string(free_port()))

    forked = _check(_health(unreachable, "--check", "blob", "--check", "hub"), "blob")
    threaded = next(
        check for check in run_checks(unreachable, HealthRequest(checks=(CheckName.BLOB,))).checks
    )

    assert forked["status"] == threaded.status.value == "fail"
    assert forked["details"]["error_code"] == threaded.details["error_code"] == "blob_unavailable"
    assert forked["hint"] == threaded.hint

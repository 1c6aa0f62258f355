"""Replays as real processes (two worker threads each): two at once never process an item twice or
count a payment twice, and
a real SIGINT or SIGTERM mid-replay leaves every item replayed and recorded, or untouched."""

from __future__ import annotations

import signal
import time

import orjson
import pytest
from dlq_results import data


def test_two_concurrent_replays_and_a_third_count_every_payment_once(
    cli, dlq_env, ingest, bodies, metrics, query, paysim_process
) -> None:
    payloads = bodies(300)
    ingest(payloads, partition="0")
    ingest(payloads, partition="1")  # every payment failed twice: two items, one payment
    before = metrics()

    replays = [
        paysim_process("dlq", "replay", "--yes", "--batch-size", "10", "--rate", "100", "--json")
        for _ in range(2)
    ]
    reports = []
    for process in replays:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()
        reports.append(orjson.loads(stdout)["data"])

    assert sum(report["attempted"] for report in reports) == 600
    assert all(report["attempted"] > 0 for report in reports)  # they ran side by side
    assert sum(report["processed"] for report in reports) == 300
    assert sum(report["duplicates"] for report in reports) == 300
    after = metrics()
    assert after["payments"][0] == before["payments"][0] + 300
    assert after["dedupe"] == before["dedupe"] + 300
    assert query("SELECT status, attempts, count(*) FROM failed_items GROUP BY 1, 2") == [
        ("replayed", 2, 600)
    ]
    # One history row per item, each from one of the two operations.
    assert query(
        "SELECT count(DISTINCT failed_item_id), count(*), count(DISTINCT operation_id) "
        "FROM failed_item_history"
    ) == [(600, 600, 2)]

    third = data(cli("dlq", "replay", "--yes", "--json", env=dlq_env))
    assert (third["matched"], third["attempted"]) == (0, 0)
    assert metrics() == after


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_replay_leaves_each_item_replayed_or_pending(
    dlq_env, ingest, bodies, metrics, query, paysim_process, signum, exit_code
) -> None:
    ingest(bodies(400))
    before = metrics()
    replay = paysim_process("dlq", "replay", "--yes", "--batch-size", "10", "--rate", "40", "--json")
    deadline = time.monotonic() + 120
    while query("SELECT count(*) FROM failed_item_history")[0][0] < 30:
        assert replay.poll() is None, replay.communicate()[1].decode()
        assert time.monotonic() < deadline, "the replay made no progress"
        time.sleep(0.05)
    replay.send_signal(signum)
    stdout, stderr = replay.communicate(timeout=120)

    assert replay.returncode == exit_code, stderr.decode()
    failure = orjson.loads(stdout)["error"]
    assert failure["code"] == "interrupted"
    report = failure["report"]
    assert report["interrupted_by"] == signal.Signals(signum).name
    assert 30 <= report["attempted"] < 400
    items = query(
        "SELECT f.status, f.attempts, count(h.id), min(h.outcome) FROM failed_items f "
        "LEFT JOIN failed_item_history h ON h.failed_item_id = f.id GROUP BY f.id ORDER BY f.id"
    )
    replayed = [item for item in items if item[0] == "replayed"]
    assert set(replayed) == {("replayed", 2, 1, "processed")}
    assert {item for item in items if item[0] != "replayed"} == {("pending", 1, 0, None)}
    assert len(replayed) == report["attempted"] == report["processed"]
    assert metrics()["payments"][0] == before["payments"][0] + len(replayed)
    # Replayed items come first (id order): the replay stopped between batches, not within one.
    assert [item[0] for item in items] == ["replayed"] * len(replayed) + ["pending"] * (400 - len(replayed))
    assert len(replayed) % 10 == 0

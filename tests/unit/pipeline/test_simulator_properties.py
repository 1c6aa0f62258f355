"""The simulator stamps every event it publishes with what the host measures latency from."""

from __future__ import annotations

import time

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings
from paysim_cli.simulator.simulation import SimulationRequest, run_simulation


def test_published_events_carry_their_run_id_and_intended_send_time(host_settings: Settings) -> None:
    before_ms = time.time() * 1000
    report = run_simulation(host_settings, SimulationRequest(rate=2000, count=400, seed=3))
    after_ms = time.time() * 1000
    with LocalEventLog.open(host_settings.event_log_path) as log:
        events = [event for partition in log.partition_ids() for event in log.read(partition, 0, 1000)]
    assert len(events) == report.sent == 400
    assert {event.properties["run_id"] for event in events} == {report.run_id}
    intended = sorted(int(event.properties["intended_ms"]) for event in events)
    assert before_ms <= intended[0]
    assert intended[-1] <= after_ms
    # 2,000 events/s: the schedule spaces them by half a millisecond over 200 ms
    assert 150 <= intended[-1] - intended[0] <= 250

"""The simulate service: options, run naming, Ctrl-C, the capacity check, the report."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.hub.targets import HubTarget
from paysim_cli.settings import Settings
from paysim_cli.simulator import simulation
from paysim_cli.simulator.capacity import CapacityCheck
from paysim_cli.simulator.progress import RunProgress
from paysim_cli.simulator.publishing import NdjsonFilePublisher
from paysim_cli.simulator.simulation import SimulationRequest, event_time_warnings, run_simulation

ProfileFile = Callable[..., Path]
START = datetime(2025, 11, 28, tzinfo=UTC)


def _request(tmp_path: Path, profile: Path, **options: Any) -> SimulationRequest:
    values: dict[str, Any] = {
        "profile": str(profile),
        "seed": 5,
        "start_time": START,
        "output": tmp_path / "out.ndjson",
    }
    values.update(options)
    return SimulationRequest.model_validate(values)


def test_report_and_manifest(
    settings: Settings, profile_file: ProfileFile, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    seen: list[RunProgress] = []
    report = run_simulation(
        settings,
        _request(tmp_path, profile_file(), rate=2000, count=3000),
        on_progress=seen.append,
        clock=fake_clock(),
    )
    assert report.run_id == "20251128T000000000Z-s5"
    assert (report.status, report.sent, report.planned, report.failed) == ("completed", 3000, 3000, 0)
    assert report.target == "file"
    assert report.target_rate == pytest.approx(2000)
    assert report.achieved_rate == pytest.approx(2000, rel=0.01)
    assert report.manifest == settings.state_dir / "runs" / report.run_id / "manifest.json"
    assert (report.manifest.parent / "profile.yaml").read_text() == profile_file().read_text()
    assert report.undelivered is None
    assert seen
    assert seen[-1].target_rate == 2000


def test_run_names_are_unique(
    settings: Settings, profile_file: ProfileFile, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    request = _request(tmp_path, profile_file(), count=10, rate=1000)
    run_simulation(settings, request, clock=fake_clock())
    with pytest.raises(PaysimError) as caught:
        run_simulation(settings, request, clock=fake_clock())
    assert caught.value.code == "run_exists"
    assert caught.value.exit_code is ExitCode.CONFLICT


def test_a_random_seed_is_recorded(
    settings: Settings, profile_file: ProfileFile, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    report = run_simulation(
        settings, _request(tmp_path, profile_file(), seed=None, count=5), clock=fake_clock()
    )
    assert report.run_id.endswith(f"-s{report.seed}")


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"duration": 1, "count": 1}, "conflicting_options"),
        ({"transport": HubTarget.EVENTHUB}, "conflicting_options"),
    ],
)
def test_conflicting_options(
    settings: Settings, profile_file: ProfileFile, tmp_path: Path, options: dict[str, Any], code: str
) -> None:
    with pytest.raises(PaysimError) as caught:
        run_simulation(settings, _request(tmp_path, profile_file(), **options))
    assert caught.value.code == code
    assert caught.value.exit_code is ExitCode.USAGE


def test_a_count_the_profile_never_reaches(
    settings: Settings, profile_file: ProfileFile, tmp_path: Path
) -> None:
    path = profile_file("stages:\n  - {kind: ramp, duration: 1, to: 0}\n")
    with pytest.raises(PaysimError) as caught:
        run_simulation(settings, _request(tmp_path, path, count=10_000))
    assert caught.value.code == "count_unreachable"


def test_ctrl_c_stops_flushes_and_reports(
    settings: Settings, profile_file: ProfileFile, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    def interrupt(progress: RunProgress) -> None:
        if progress.sent:
            os.kill(os.getpid(), signal.SIGINT)

    report = run_simulation(
        settings,
        _request(tmp_path, profile_file(), rate=1000, duration=60),
        on_progress=interrupt,
        clock=fake_clock(),
    )
    assert report.status == "interrupted"
    assert 0 < report.sent < report.planned
    assert report.manifest.exists()
    assert len((tmp_path / "out.ndjson").read_bytes().splitlines()) == report.sent
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_interrupts_at_once(
    settings: Settings, profile_file: ProfileFile, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    def interrupt_twice(progress: RunProgress) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        run_simulation(
            settings,
            _request(tmp_path, profile_file(), rate=1000, duration=60),
            on_progress=interrupt_twice,
            clock=fake_clock(),
        )


def test_capacity_is_checked_before_publishing_to_event_hubs(
    settings: Settings,
    profile_file: ProfileFile,
    fake_clock: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No event hub here: the Event Hubs target is stood in for by the file target, 1 partition.
    monkeypatch.setattr(
        simulation, "open_target", lambda settings, target, output: NdjsonFilePublisher(tmp_path / "hub")
    )
    checks: list[CapacityCheck] = []
    report = run_simulation(
        settings,
        _request(
            tmp_path,
            profile_file(),
            output=None,
            transport=HubTarget.EVENTHUB,
            rate=5000,
            count=100,
            throughput_units=2,
        ),
        on_capacity=checks.append,
        clock=fake_clock(),
    )
    assert report.capacity == checks[0]
    assert checks[0].peak_rate == 5000
    assert checks[0].partitions == 1
    assert checks[0].required_throughput_units == 5
    assert 300 < checks[0].mean_event_bytes < 600
    assert len(checks[0].warnings) == 2
    assert report.target == "eventhub"


def test_a_rerun_takes_a_run_id(
    settings: Settings, profile_file: ProfileFile, fake_clock: Callable[..., Any], tmp_path: Path
) -> None:
    first = run_simulation(settings, _request(tmp_path, profile_file(), count=5), clock=fake_clock())
    with pytest.raises(PaysimError) as raised:
        run_simulation(
            settings, _request(tmp_path, profile_file(), count=5, output=tmp_path / "b"), clock=fake_clock()
        )
    assert (raised.value.code, raised.value.exit_code) == ("run_exists", ExitCode.CONFLICT)
    assert raised.value.hint is not None
    assert "--run-id" in raised.value.hint
    again = run_simulation(
        settings,
        _request(tmp_path, profile_file(), count=5, output=tmp_path / "c", run_id="again"),
        clock=fake_clock(),
    )
    assert again.run_id == "again"
    assert again.manifest.read_bytes().count(b'"run_id": "again"') == 1
    assert first.run_id != again.run_id


def test_event_times_outside_what_the_pipeline_accepts_are_warned_about() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert event_time_warnings(now - timedelta(days=1), 3600, now) == []
    [old] = event_time_warnings(now - timedelta(days=30), 60, now)
    assert "event_time_out_of_range" in old
    assert "choose a --start-time within the last 7 days" in old
    assert event_time_warnings(now + timedelta(hours=2), 60, now) != []
    assert event_time_warnings(now, 7200, now) != []  # a run that ends beyond the skew allowed


def test_workers_are_chosen_for_the_rate_over_event_hubs_only() -> None:
    per_worker = simulation.EVENTHUB_EVENTS_PER_WORKER
    assert simulation.workers_for_rate(per_worker, HubTarget.EVENTHUB) == 1
    assert simulation.workers_for_rate(per_worker + 1, HubTarget.EVENTHUB) == 2
    assert simulation.workers_for_rate(10_000, HubTarget.EVENTHUB) == 2
    assert simulation.workers_for_rate(10**9, HubTarget.EVENTHUB) == simulation.MAX_WORKERS
    assert simulation.workers_for_rate(50_000, HubTarget.LOCAL) == 1
    assert simulation.workers_for_rate(50_000, None) == 1  # --output: a file


def test_publishes_over_event_hubs_wait_longer_for_company(tmp_path: Path) -> None:
    from paysim_cli.simulator.profile_store import load_profile
    from paysim_cli.simulator.runner import LINGER_SECONDS

    profile_path = Path(__file__).parents[3] / "profiles" / "default.yaml"
    plans = lambda transport: simulation._worker_plans(  # noqa: E731
        SimulationRequest(rate=100, duration=1),
        profile_path,
        load_profile(profile_path),
        1,
        "run",
        0,
        tmp_path,
        2,
        transport,
    )
    assert {plan.linger for plan in plans(HubTarget.EVENTHUB)} == {simulation.EVENTHUB_LINGER_SECONDS}
    assert {plan.linger for plan in plans(HubTarget.LOCAL)} == {LINGER_SECONDS}
    assert {plan.linger for plan in plans(None)} == {LINGER_SECONDS}

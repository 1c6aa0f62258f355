"""The local target's view of the host: it waits until every live worker runs the release, and fails at
once for a worker that cannot switch (a fixed app) or could not load it. The workers are real release
trackers in this process, with real apps (tests/release_apps.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_apps import make_release, point

from paysim_cli.deploy.local import LocalTarget
from paysim_cli.errors import PaysimError
from paysim_cli.pipeline.loader import unload_app
from paysim_cli.pipeline.release import CHECK_INTERVAL_SECONDS, ReleaseTracker
from paysim_cli.settings import Settings


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for directory in sorted((tmp_path / "function" / "releases").glob("*")):
        unload_app(directory)


def test_the_target_waits_for_every_worker_to_run_the_release(state: Path) -> None:
    make_release(state, "a")
    make_release(state, "b")
    point(state, "a")
    tracker = ReleaseTracker(state, "process_payment_events", worker=0)
    tracker.current()
    target = LocalTarget(Settings(state_dir=state))
    assert target.has_host()
    assert target.wait_running("a", 5, lambda line: None) < 1
    point(state, "b")
    with pytest.raises(PaysimError) as raised:
        target.wait_running("b", 0.5, lambda line: None)  # nothing invoked the worker yet
    assert raised.value.code == "release_not_running"
    assert "still run a instead of release b" in raised.value.message
    time.sleep(CHECK_INTERVAL_SECONDS * 1.5)
    tracker.current()
    assert target.wait_running("b", 5, lambda line: None) < 1
    tracker.record(10, None)
    tracker.record(10, "RuntimeError: no")
    assert target.invocations("b") == (2, 1, "RuntimeError: no")
    tracker.close()
    assert not target.has_host()


def test_a_worker_on_a_fixed_app_or_that_could_not_load_the_release_fails_at_once(state: Path) -> None:
    fixed = make_release(state, "fixed")
    make_release(state, "broken", extra="raise ImportError('missing')")
    make_release(state, "good")
    target = LocalTarget(Settings(state_dir=state))
    pinned = ReleaseTracker(state, "process_payment_events", worker=0, function_dir=fixed)
    pinned.current()
    with pytest.raises(PaysimError) as raised:
        target.wait_running("good", 30, lambda line: None)
    assert "never switches" in raised.value.message
    pinned.close()

    point(state, "good")
    follower = ReleaseTracker(state, "process_payment_events", worker=1)
    follower.current()
    point(state, "broken")
    time.sleep(CHECK_INTERVAL_SECONDS * 1.5)
    follower.current()
    started = time.monotonic()
    with pytest.raises(PaysimError) as raised:
        target.wait_running("broken", 30, lambda line: None)
    assert raised.value.code == "release_load_failed"
    assert "missing" in raised.value.message
    assert time.monotonic() - started < 5
    follower.close()

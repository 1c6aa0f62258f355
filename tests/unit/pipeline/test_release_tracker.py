"""A host worker's view of the active release: it loads the release the pointer names, switches when
the pointer changes (with the release's settings as environment variables), reports what it runs, and
keeps the old code when a new release fails to load. Real apps, loaded as the worker loads them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_apps import make_release, point

from paysim_cli.pipeline.loader import unload_app
from paysim_cli.pipeline.release import (
    CHECK_INTERVAL_SECONDS,
    ReleaseTracker,
    describe,
    read_active,
    running_workers,
    write_active,
)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for directory in sorted((tmp_path / "function" / "releases").glob("*")):
        unload_app(directory)
    os.environ.pop("PAYSIM_WINDOW_SECONDS", None)


def call(tracker: ReleaseTracker) -> object:
    time.sleep(CHECK_INTERVAL_SECONDS * 1.5)
    return tracker.current().user_function(events=[])


def test_a_worker_runs_the_active_release_and_switches_when_the_pointer_changes(state: Path) -> None:
    make_release(state, "a")
    make_release(state, "b")
    point(state, "a", PAYSIM_WINDOW_SECONDS="300")
    tracker = ReleaseTracker(state, "process_payment_events", worker=0)
    assert call(tracker) == ("a", "300")
    (status,) = running_workers(state)
    assert (status.release, status.pid, status.worker) == ("a", os.getpid(), 0)

    tracker.record(500, None)
    tracker.record(500, "RuntimeError: boom")
    (status,) = running_workers(state)
    assert (status.invocations, status.events, status.failed_invocations) == (2, 500, 1)
    assert status.last_error == "RuntimeError: boom"

    import marker_app

    point(state, "b", PAYSIM_WINDOW_SECONDS="60")
    assert call(tracker) == ("b", "60")
    assert marker_app.CLOSED == [True]  # the old app was asked to close its connections
    (status,) = running_workers(state)
    assert (status.release, status.invocations, status.failed_invocations) == ("b", 0, 0)

    point(state, "b")  # the same release, its settings changed: reloaded with them
    assert call(tracker) == ("b", None)
    tracker.close()
    assert running_workers(state) == []


def test_a_release_that_fails_to_load_leaves_the_worker_on_the_old_code(state: Path) -> None:
    make_release(state, "good")
    make_release(state, "broken", extra="raise ImportError('no such dependency')")
    point(state, "good", PAYSIM_WINDOW_SECONDS="300")
    tracker = ReleaseTracker(state, "process_payment_events", worker=1)
    assert call(tracker) == ("good", "300")
    point(state, "broken", PAYSIM_WINDOW_SECONDS="5")
    assert call(tracker) == ("good", "300")
    (status,) = running_workers(state)
    assert (status.release, status.failed_release) == ("good", "broken")
    assert "no such dependency" in str(status.load_error)
    tracker.close()


def test_a_fixed_app_never_switches(state: Path) -> None:
    fixed = make_release(state, "fixed")
    make_release(state, "other")
    point(state, "other")
    tracker = ReleaseTracker(state, "process_payment_events", worker=0, function_dir=fixed)
    assert call(tracker) == ("fixed", None)
    point(state, "other", PAYSIM_WINDOW_SECONDS="1")
    assert call(tracker) == ("fixed", None)
    (status,) = running_workers(state)
    assert (status.release, status.follows) == (None, False)
    tracker.close()


def test_the_pointer_is_replaced_whole_and_described(state: Path) -> None:
    assert read_active(state) is None
    assert "no release deployed" in describe(None)
    assert "development mode" in describe(None, development=True)
    point(state, "v1", PAYSIM_WINDOW_SECONDS="300")
    active = read_active(state)
    assert active is not None
    assert (active.version, describe(active)) == ("v1", "release v1")
    (state / "function" / "active").write_text("{half")
    assert read_active(state) is None  # unreadable: treated as none, with a warning
    write_active(state, None)
    assert not (state / "function" / "active").exists()
    assert list((state / "function").glob("*.partial")) == []

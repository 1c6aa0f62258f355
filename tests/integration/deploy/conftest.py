"""Shared by the deploy tests: the Function's wheels, downloaded from the index once per run."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from paysim_cli.deploy.manifest import TargetPlatform
from paysim_cli.deploy.package import REQUIREMENTS
from paysim_cli.deploy.vendor import wheel_cache

FUNCTION_DIR = Path(__file__).resolve().parents[3] / "function"


@pytest.fixture(scope="session")
def function_wheels(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """Links a state directory's wheel cache (state_dir/function/wheels) to this run's, and returns
    the state directory. Downloading the Function's dependencies takes one to two minutes; a state
    directory's later builds install from its cache (the vendored-package test checks those bytes), so
    the run downloads once. xdist's workers share their temporary root; a lock lets one download while
    the others wait."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "function-wheels"
    root.mkdir(exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wheel_cache(root, FUNCTION_DIR / REQUIREMENTS, TargetPlatform())

    def link(state_dir: Path) -> Path:
        (state_dir / "function").mkdir(parents=True, exist_ok=True)
        (state_dir / "function" / "wheels").symlink_to(root, target_is_directory=True)
        return state_dir

    return link

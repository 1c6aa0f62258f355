"""Simulator fixtures: a small profile file, a clock that sleeps by moving its hands, worker plans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from paysim_cli.simulator.profile_store import load_profile
from paysim_cli.simulator.runner import WorkerPlan

SMALL_PROFILE = """\
description: small test profile
rate: 1000
duration: 2
payment_types:
  card: {weight: 0.6, amount: {mu: 3.0, sigma: 0.8}, decline_rate: 0.1, channels: {pos: 0.5, ecommerce: 0.5}}
  ach: {weight: 0.25, amount: {mu: 6.0, sigma: 1.0}, decline_rate: 0.02, channels: {online_banking: 1}}
  wallet: {weight: 0.15, amount: {mu: 2.5, sigma: 0.5}, channels: {mobile: 0.7, ecommerce: 0.3}}
currencies: {USD: 0.7, EUR: 0.2, JPY: 0.1}
countries: {US: 0.6, NO: 0.4}
merchants: {count: 500, zipf_exponent: 1.1, mccs: {5411: 0.5, "5812": 0.3, "4121": 0.2}}
customers: {count: 2000}
decline_reasons: {insufficient_funds: 0.7, do_not_honor: 0.3}
"""


class FakeClock:
    """Time moves only when the code under test sleeps, or a test advances it."""

    def __init__(self, on_sleep: Callable[[float], None] | None = None) -> None:
        self.time = 1000.0
        self._on_sleep = on_sleep

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += seconds
        if self._on_sleep is not None:
            self._on_sleep(self.time)


@pytest.fixture
def fake_clock() -> Callable[..., FakeClock]:
    return FakeClock


@pytest.fixture
def small_profile() -> str:
    return SMALL_PROFILE


@pytest.fixture
def profile_file(tmp_path: Path) -> Callable[..., Path]:
    """Write SMALL_PROFILE plus `extra` YAML lines to a file; returns its path."""

    def write(extra: str = "", name: str = "small.yaml", text: str = SMALL_PROFILE) -> Path:
        path = tmp_path / name
        path.write_text(text + extra, encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_plan(tmp_path: Path) -> Callable[..., WorkerPlan]:
    def make(profile_path: Path, **overrides: Any) -> WorkerPlan:
        values: dict[str, Any] = {
            "worker": 0,
            "workers": 1,
            "profile_path": profile_path,
            "profile": load_profile(profile_path),
            "seed": 42,
            "run_id": "test-run",
            "start_ms": 1_764_288_000_000,  # 2025-11-28T00:00:00Z
            "rate": None,
            "duration": None,
            "count": None,
            "partition_key_field": "customer.id",
            "watch": False,
            "undelivered_path": tmp_path / "undelivered.ndjson",
        }
        values.update(overrides)
        return WorkerPlan(**values)

    return make

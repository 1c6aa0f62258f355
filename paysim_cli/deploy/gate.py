"""The health gate after a deploy: the host runs the new release, then the pipeline stays healthy for
`seconds` — the `paysim health` checks pass every time, no invocation of the new code fails, and the
lag does not grow. The first bad sign ends the gate; a release that passes has earned its place."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from paysim_cli.deploy.request import GateRequest
from paysim_cli.errors import PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from paysim_cli.health import HealthReport


class GateReport(BaseModel):
    passed: bool
    reason: str | None = None
    start_seconds: float = 0.0  # until the host ran the release
    observed_seconds: float = 0.0
    health_reports: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    lag_first: int | None = None
    lag_last: int | None = None
    lag_growth_per_second: float | None = None
    unhealthy: list[str] = Field(default_factory=list)  # "check: message" of the report that failed


class GateTarget(Protocol):
    def wait_running(
        self, version: str | None, timeout: float, on_status: Callable[[str], None]
    ) -> float: ...
    def invocations(self, version: str | None) -> tuple[int, int, str | None]: ...


def run_gate(
    settings: Settings,
    target: GateTarget,
    version: str | None,
    request: GateRequest,
    *,
    on_status: Callable[[str], None],
    credential: TokenCredential | None = None,
) -> GateReport:
    """Watch the pipeline after a deploy; the report says whether the release passed, and if not, why."""
    from paysim_cli.health import HealthRequest, run_checks

    try:
        start = target.wait_running(version, request.start_timeout_seconds, on_status)
    except PaysimError as error:
        return GateReport(passed=False, reason=error.message)
    on_status(f"the host runs release {version}; watching the pipeline for {request.seconds:g} s")
    report = GateReport(passed=True, start_seconds=round(start, 2))
    began = time.monotonic()
    samples: list[tuple[float, int]] = []
    while True:
        health = run_checks(settings, HealthRequest(), credential=credential)
        report.health_reports += 1
        lag = _lag(health)
        if lag is not None:
            samples.append((time.monotonic() - began, lag))
        report.invocations, report.failed_invocations, last_error = target.invocations(version)
        report.observed_seconds = round(time.monotonic() - began, 2)
        _lag_summary(report, samples)
        if report.failed_invocations > request.max_failed_invocations:
            return _fail(
                report, f"{report.failed_invocations} invocations of release {version} failed: {last_error}"
            )
        if not health.healthy:
            report.unhealthy = [f"{check.name}: {check.message}" for check in health.unhealthy_checks()]
            return _fail(report, "the pipeline is not healthy: " + "; ".join(report.unhealthy))
        remaining = request.seconds - (time.monotonic() - began)
        if remaining <= 0:
            break
        time.sleep(min(request.interval_seconds, remaining))
    growth = report.lag_growth_per_second
    if growth is not None and growth > request.max_lag_growth_per_second:
        return _fail(
            report,
            f"the lag grew by {growth:,.0f} events/s over {report.observed_seconds:g} s "
            f"(at most {request.max_lag_growth_per_second:,g}/s): the release does not keep up",
        )
    on_status(f"gate passed: healthy for {report.observed_seconds:g} s, {report.invocations} invocations")
    return report


def _fail(report: GateReport, reason: str) -> GateReport:
    return report.model_copy(update={"passed": False, "reason": reason})


def _lag(health: HealthReport) -> int | None:
    from paysim_cli.health import CheckName

    for check in health.checks:
        if check.name is CheckName.LAG and isinstance(check.details.get("lag"), int):
            return int(check.details["lag"])
    return None


def _lag_summary(report: GateReport, samples: list[tuple[float, int]]) -> None:
    if not samples:
        return
    report.lag_first, report.lag_last = samples[0][1], samples[-1][1]
    report.lag_growth_per_second = round(slope(samples), 1) if len(samples) >= 2 else None


def slope(samples: list[tuple[float, int]]) -> float:
    """The least-squares slope of (time, lag): how fast the lag grows, robust to one noisy sample."""
    count = len(samples)
    mean_t = sum(t for t, _ in samples) / count
    mean_y = sum(y for _, y in samples) / count
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (y - mean_y) for t, y in samples) / spread

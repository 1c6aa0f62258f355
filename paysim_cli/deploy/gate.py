"""The health gate after a deploy: the host runs the new release, the pipeline is healthy again after
the switch (`wait_healthy`: workers reload and retake their leases), then it stays healthy for
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
    settle_seconds: float = 0.0  # then until the pipeline was healthy on it
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
    try:
        start = target.wait_running(version, request.start_timeout_seconds, on_status)
    except PaysimError as error:
        return GateReport(passed=False, reason=error.message)
    settling = time.monotonic()
    timeout = max(request.start_timeout_seconds - start, request.interval_seconds)
    unsettled = _settle(settings, target, version, request, timeout, credential)
    report = GateReport(
        passed=True, start_seconds=round(start, 2), settle_seconds=round(time.monotonic() - settling, 2)
    )
    if unsettled is not None:
        report.invocations, report.failed_invocations, _ = target.invocations(version)
        return _fail(report, unsettled)
    on_status(f"the host runs release {version}; watching the pipeline for {request.seconds:g} s")
    report = _watch(settings, target, version, request, report, credential)
    growth = report.lag_growth_per_second
    if report.passed and growth is not None and growth > request.max_lag_growth_per_second:
        return _fail(
            report,
            f"the lag grew by {growth:,.0f} events/s over {report.observed_seconds:g} s "
            f"(at most {request.max_lag_growth_per_second:,g}/s): the release does not keep up",
        )
    if report.passed:
        on_status(f"gate passed: healthy for {report.observed_seconds:g} s, {report.invocations} invocations")
    return report


def _watch(
    settings: Settings,
    target: GateTarget,
    version: str | None,
    request: GateRequest,
    report: GateReport,
    credential: TokenCredential | None,
) -> GateReport:
    """A health report and the release's invocations every interval for `seconds`; the first bad one
    fails the report."""
    from paysim_cli.health import HealthRequest, run_checks

    began = time.monotonic()
    samples: list[tuple[float, int]] = []
    while True:
        health = run_checks(settings, HealthRequest(), credential=credential)
        report.health_reports += 1
        lag = _lag(health)
        if lag is not None:
            samples.append((time.monotonic() - began, lag))
        report.invocations, report.failed_invocations, _ = target.invocations(version)
        report.observed_seconds = round(time.monotonic() - began, 2)
        _lag_summary(report, samples)
        failing = _failing(target, version, request)
        if failing is not None:
            return _fail(report, failing)
        if not health.healthy:
            report.unhealthy = [f"{check.name}: {check.message}" for check in health.unhealthy_checks()]
            return _fail(report, "the pipeline is not healthy: " + "; ".join(report.unhealthy))
        remaining = request.seconds - (time.monotonic() - began)
        if remaining <= 0:
            return report
        time.sleep(min(request.interval_seconds, remaining))


def _failing(target: GateTarget, version: str | None, request: GateRequest) -> str | None:
    """Why the release fails already (more failed invocations than allowed), or None."""
    _, failed, last_error = target.invocations(version)
    if failed > request.max_failed_invocations:
        return f"{failed} invocations of release {version} failed: {last_error}"
    return None


class _ReleaseFails(Exception):
    """Ends the wait for a healthy pipeline early: the new code already fails."""


def _settle(
    settings: Settings,
    target: GateTarget,
    version: str | None,
    request: GateRequest,
    timeout: float,
    credential: TokenCredential | None = None,
) -> str | None:
    """Wait until the pipeline is healthy on the new release (at least one look, at most `timeout`);
    why not, or None. A failed invocation of the release ends the wait at once."""
    from paysim_cli.health import HealthRequest, wait_healthy

    def fails_yet(_: HealthReport) -> None:
        failing = _failing(target, version, request)
        if failing is not None:
            raise _ReleaseFails(failing)

    try:
        health = wait_healthy(
            settings,
            HealthRequest(),
            timeout=timeout,
            interval=request.interval_seconds,
            on_report=fails_yet,
            credential=credential,
        )
    except _ReleaseFails as failing:
        return str(failing)
    if health.healthy:
        return None
    unhealthy = "; ".join(f"{check.name}: {check.message}" for check in health.unhealthy_checks())
    return f"the pipeline was not healthy on release {version} within {timeout:g} s: {unhealthy}"


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

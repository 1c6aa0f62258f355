"""`paysim health` as a service: independent checks, run concurrently, each within its time-out.

`run_checks` is one look; `wait_healthy` polls until healthy or out of time (a deploy gate, a CI step);
`watch` yields a report every interval. A check that cannot reach its box fails; one whose box is
another check's (the database, for the dead-letter check) says unknown, so one outage reads as one
failure; a check still running at its time-out is unknown too. Checks run on daemon threads, so one
stuck on the network can neither hold up the report nor keep the process alive; in a fresh process
the blob check runs in a forked child instead (health/forked.py), killed at its time-out. The checks
that read PostgreSQL share one connection (health/connection.py).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from paysim_cli.errors import PaysimError
from paysim_cli.health.checks.base import CheckContext, result
from paysim_cli.health.forked import forkable, start_forked
from paysim_cli.health.models import CheckName, CheckResult, CheckStatus, HealthReport, HealthRequest
from paysim_cli.hub.transport import HubError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

Check = Callable[[CheckContext], CheckResult]
DEFAULT_POLL_SECONDS = 2.0


# Each check's module, imported only when the check runs: a run of two checks loads no other SDK.
_MODULES = {
    CheckName.HUB: "hub",
    CheckName.LAG: "hub",
    CheckName.FRESHNESS: "hub",
    CheckName.DATABASE: "database",
    CheckName.MIGRATIONS: "database",
    CheckName.BLOB: "blob",
    CheckName.FUNCTION: "function",
    CheckName.DEAD_LETTER: "database",
    CheckName.CANARY: "canary",
}


# The lag check waits lag_sample_seconds between its two samples. It starts first, and the others once
# it has its first sample (or after this long at most, should the database be slow to answer), so that
# their work (loading drivers, above all) fills that wait instead of delaying the first sample.
LAG_HEAD_START_SECONDS = 1.0


def check_of(name: CheckName) -> Check:
    """The function that runs check `name` (`check_<name>` in its module under health/checks/)."""
    module = importlib.import_module(f"paysim_cli.health.checks.{_MODULES[name]}")
    check: Check = getattr(module, f"check_{name.value}")
    return check


def run_checks(
    settings: Settings, request: HealthRequest, *, credential: TokenCredential | None = None
) -> HealthReport:
    """Run the requested checks at once and wait for each up to its time-out; the report."""
    names = request.selected()
    context = CheckContext(settings, request.effective_thresholds(settings), credential, len(names))
    checked_at = datetime.now(UTC)
    started = time.monotonic()
    # Forks first, while this process still has one thread.
    futures = {name: _start_forked(name, check_of(name), context) for name in forkable(list(names))}
    if CheckName.LAG in names:
        futures[CheckName.LAG] = _start(CheckName.LAG, check_of(CheckName.LAG), context)
        context.lag_sampled.wait(LAG_HEAD_START_SECONDS)
    for name in names:
        if name not in futures:
            futures[name] = _start(name, check_of(name), context)
    results = [_outcome(name, futures[name], context, started) for name in names]
    return HealthReport.of(
        settings.env, checked_at, (time.monotonic() - started) * 1000, results, strict=request.strict
    )


def wait_healthy(
    settings: Settings,
    request: HealthRequest,
    *,
    timeout: float,
    interval: float = DEFAULT_POLL_SECONDS,
    on_report: Callable[[HealthReport], None] | None = None,
    credential: TokenCredential | None = None,
) -> HealthReport:
    """Poll until a report is healthy (returned at once) or `timeout` seconds pass (the last report)."""
    deadline = time.monotonic() + timeout
    while True:
        report = run_checks(settings, request, credential=credential)
        if on_report is not None:
            on_report(report)
        remaining = deadline - time.monotonic()
        if report.healthy or remaining <= 0:
            return report
        time.sleep(min(interval, remaining))


def watch(
    settings: Settings,
    request: HealthRequest,
    *,
    interval: float,
    credential: TokenCredential | None = None,
) -> Iterator[HealthReport]:
    """A report every `interval` seconds, for as long as the caller iterates."""
    while True:
        started = time.monotonic()
        yield run_checks(settings, request, credential=credential)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def _timeout(name: CheckName, context: CheckContext) -> float:
    thresholds = context.thresholds
    if name is CheckName.CANARY:
        return thresholds.canary_timeout_seconds + thresholds.check_timeout_seconds
    if name is CheckName.LAG:
        return thresholds.lag_sample_seconds + thresholds.check_timeout_seconds
    return thresholds.check_timeout_seconds


def _start(name: CheckName, check: Check, context: CheckContext) -> Future[CheckResult]:
    future: Future[CheckResult] = Future()

    def run() -> None:
        try:
            future.set_result(_run(name, check, context))
        finally:
            context.database.release()
            if name is CheckName.LAG:  # ended before its first sample: the others need not wait
                context.lag_sampled.set()

    threading.Thread(target=run, name=f"health-{name}", daemon=True).start()
    return future


def _start_forked(name: CheckName, check: Check, context: CheckContext) -> Future[CheckResult]:
    def lost(why: str) -> CheckResult:
        return result(name, CheckStatus.UNKNOWN, f"the check itself failed: {why}", hint=_REPORT_IT)

    future = start_forked(name, lambda: _run(name, check, context), _timeout(name, context), lost)
    context.database.release()  # the child has its own copy; this process's is not its to close
    return future


def _run(name: CheckName, check: Check, context: CheckContext) -> CheckResult:
    """The check's result however it ends: its own, a failure it raised, or its bug as unknown."""
    started = time.monotonic()
    try:
        outcome = check(context)
    except PaysimError as error:
        outcome = _failed(name, error)
    except Exception as error:  # noqa: BLE001 - one check's bug must not hide the others' results
        outcome = result(
            name,
            CheckStatus.UNKNOWN,
            f"the check itself failed: {type(error).__name__}: {error}",
            hint=_REPORT_IT,
            error_type=type(error).__name__,
        )
    return outcome.model_copy(update={"duration_ms": (time.monotonic() - started) * 1000})


_REPORT_IT = "report it; rerun with --check to isolate it"


def _outcome(
    name: CheckName, future: Future[CheckResult], context: CheckContext, started: float
) -> CheckResult:
    limit = _timeout(name, context)
    try:
        return future.result(timeout=max(0.0, started + limit - time.monotonic()))
    except TimeoutError:
        return result(
            name,
            CheckStatus.UNKNOWN,
            f"no answer within {limit:g} s",
            hint="the box may be unreachable or overloaded; raise check_timeout_seconds if it is just slow",
        ).model_copy(update={"duration_ms": limit * 1000})


def owner_of(error: PaysimError) -> CheckName | None:
    """The check whose box an error is about (None: the raising check's own)."""
    if isinstance(error, HubError) or error.code.startswith(("hub_", "eventhub_")):
        return CheckName.HUB
    if error.code.startswith("database_"):
        return CheckName.DATABASE
    if error.code.startswith("blob_") or error.code == "checkpoints_unreadable":
        return CheckName.BLOB
    return None


def _failed(name: CheckName, error: PaysimError) -> CheckResult:
    owner = owner_of(error)
    if owner is not None and owner is not name:
        return result(
            name,
            CheckStatus.UNKNOWN,
            f"cannot tell: {error.message}",
            hint=f"see the {owner} check",
            error_code=error.code,
        )
    return result(name, CheckStatus.FAIL, error.message, hint=error.hint, error_code=error.code)

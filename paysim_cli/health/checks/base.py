"""What every check gets (settings, thresholds, a credential for Azure) and how it grades a number."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paysim_cli.health.connection import SharedConnection
from paysim_cli.health.models import CheckName, CheckResult, CheckStatus
from paysim_cli.settings import HealthThresholds, Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


@dataclass(frozen=True)
class CheckContext:
    """One health run's inputs, shared read-only by its concurrent checks."""

    settings: Settings
    thresholds: HealthThresholds
    # Azure Resource Manager calls sign in with this; None means DefaultAzureCredential.
    credential: TokenCredential | None = None
    # How many checks run with this context: the last to end closes their shared database connection.
    checks: int = 1
    database: SharedConnection = field(init=False, repr=False, compare=False)
    # Set once the lag check has its first sample: the other checks start then (health/service.py).
    lag_sampled: threading.Event = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # frozen: set once, here
        object.__setattr__(self, "database", SharedConnection(self.settings, self.timeout, users=self.checks))
        object.__setattr__(self, "lag_sampled", threading.Event())

    @property
    def timeout(self) -> float:
        return self.thresholds.check_timeout_seconds

    def azure_credential(self) -> TokenCredential:
        if self.credential is not None:
            return self.credential
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()


def grade(value: float, warn: float, fail: float) -> CheckStatus:
    """fail at or above `fail`, warn at or above `warn`, ok below both."""
    if value >= fail:
        return CheckStatus.FAIL
    if value >= warn:
        return CheckStatus.WARN
    return CheckStatus.OK


def worst(*statuses: CheckStatus) -> CheckStatus:
    return max(statuses, key=lambda status: status.rank)


def limits(warn: float, fail: float, unit: str = "") -> str:
    suffix = f" {unit}" if unit else ""
    return f"warn {warn:,g}{suffix} / fail {fail:,g}{suffix}"


def result(
    name: CheckName,
    status: CheckStatus,
    message: str,
    *,
    value: str | None = None,
    threshold: str | None = None,
    hint: str | None = None,
    **details: Any,
) -> CheckResult:
    return CheckResult(
        name=name,
        status=status,
        value=value,
        threshold=threshold,
        message=message,
        hint=hint,
        details=details,
    )

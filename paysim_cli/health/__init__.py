"""The pipeline's health: independent checks of every box, for operators, CI steps and the deploy gate.

Use `run_checks(settings, request)` for one report and `wait_healthy(settings, request, timeout=...)`
to poll until healthy (what `paysim function deploy`'s gate and `paysim health --wait-healthy` call).
"""

from __future__ import annotations

from paysim_cli.health.models import (
    CheckName,
    CheckResult,
    CheckStatus,
    HealthReport,
    HealthRequest,
    Unhealthy,
)
from paysim_cli.health.service import run_checks, wait_healthy, watch

__all__ = [
    "CheckName",
    "CheckResult",
    "CheckStatus",
    "HealthReport",
    "HealthRequest",
    "Unhealthy",
    "run_checks",
    "wait_healthy",
    "watch",
]

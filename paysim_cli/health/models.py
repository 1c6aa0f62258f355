"""What `paysim health` asks and answers: a request, one result per check, and the report."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.output import to_jsonable
from paysim_cli.settings import HealthThresholds, Settings


class CheckStatus(StrEnum):
    """Ordered from best to worst; a report is as bad as its worst check."""

    OK = "ok"
    WARN = "warn"
    UNKNOWN = "unknown"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {CheckStatus.OK: 0, CheckStatus.WARN: 1, CheckStatus.UNKNOWN: 2, CheckStatus.FAIL: 3}


class CheckName(StrEnum):
    """Every check, in the order a report lists them. `canary` runs only when asked (`--probe`)."""

    HUB = "hub"
    LAG = "lag"
    FRESHNESS = "freshness"
    DATABASE = "database"
    MIGRATIONS = "migrations"
    BLOB = "blob"
    FUNCTION = "function"
    DEAD_LETTER = "dead_letter"
    CANARY = "canary"


DEFAULT_CHECKS = tuple(name for name in CheckName if name is not CheckName.CANARY)


class CheckResult(BaseModel):
    """One box's verdict: what was measured, against what, and what to do about it."""

    name: CheckName
    status: CheckStatus
    value: str | None = None  # what was measured, for people ("1,204 events, +310/s")
    threshold: str | None = None  # what it was compared with ("warn 10,000 / fail 100,000")
    message: str
    hint: str | None = None
    duration_ms: float = 0.0
    details: dict[str, Any] = Field(default_factory=dict)  # machine-readable measurements


class HealthRequest(BaseModel):
    """Which checks to run and how; threshold overrides win over the environment's settings."""

    model_config = ConfigDict(frozen=True)

    checks: tuple[CheckName, ...] = DEFAULT_CHECKS
    probe: bool = False  # publish a canary payment and time it to its commit
    strict: bool = False  # a warning is unhealthy too
    thresholds: dict[str, float] = Field(default_factory=dict)

    def selected(self) -> tuple[CheckName, ...]:
        """The checks to run, in report order; `probe` adds the canary."""
        wanted = set(self.checks) | ({CheckName.CANARY} if self.probe else set())
        return tuple(name for name in CheckName if name in wanted)

    def effective_thresholds(self, settings: Settings) -> HealthThresholds:
        """The environment's thresholds with this request's overrides applied (validated again)."""
        if not self.thresholds:
            return settings.health
        try:
            return HealthThresholds.model_validate(settings.health.model_dump() | self.thresholds)
        except ValidationError as error:
            first = error.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "threshold"
            raise PaysimError(
                "invalid_threshold",
                f"--threshold {name}: {first['msg']}",
                f"thresholds: {', '.join(HealthThresholds.model_fields)}",
                exit_code=ExitCode.USAGE,
            ) from error


def parse_thresholds(pairs: list[str]) -> dict[str, float]:
    """`NAME=VALUE` pairs (the `--threshold` option) as overrides; a usage error for anything else."""
    overrides: dict[str, float] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        try:
            if not equals:
                raise ValueError("no '='")
            overrides[name.strip()] = float(text)
        except ValueError:
            raise PaysimError(
                "invalid_threshold",
                f"--threshold {pair!r} is not NAME=NUMBER",
                "e.g. --threshold lag_warn=5000 --threshold freshness_fail_seconds=60",
                exit_code=ExitCode.USAGE,
            ) from None
    return overrides


class HealthReport(BaseModel):
    """Every check's result; `healthy` is the verdict a gate acts on."""

    env: str
    checked_at: datetime
    duration_ms: float
    status: CheckStatus
    healthy: bool
    strict: bool
    checks: list[CheckResult]

    @classmethod
    def of(
        cls, env: str, checked_at: datetime, duration_ms: float, checks: list[CheckResult], *, strict: bool
    ) -> HealthReport:
        worst = max((check.status for check in checks), key=lambda status: status.rank, default=None)
        status = worst or CheckStatus.OK
        bad = {CheckStatus.FAIL, CheckStatus.UNKNOWN} | ({CheckStatus.WARN} if strict else set())
        return cls(
            env=env,
            checked_at=checked_at,
            duration_ms=round(duration_ms, 1),
            status=status,
            healthy=status not in bad,
            strict=strict,
            checks=checks,
        )

    def unhealthy_checks(self) -> list[CheckResult]:
        bad = {CheckStatus.FAIL, CheckStatus.UNKNOWN} | ({CheckStatus.WARN} if self.strict else set())
        return [check for check in self.checks if check.status in bad]

    def failure(self, waited_seconds: float | None = None) -> Unhealthy | None:
        """The error to exit with when the pipeline is not healthy; None when it is."""
        return None if self.healthy else Unhealthy(self, waited_seconds)


class Unhealthy(PaysimError):
    """Exit 11, with the whole report in the JSON error, so `--json` stays one document."""

    def __init__(self, report: HealthReport, waited_seconds: float | None = None) -> None:
        named = ", ".join(f"{check.name} {check.status}" for check in report.unhealthy_checks())
        first = next(iter(report.unhealthy_checks()), None)
        waited = "" if waited_seconds is None else f" after waiting {waited_seconds:g} s"
        super().__init__(
            "unhealthy",
            f"the {report.env} pipeline is not healthy{waited}: {named}",
            first.hint if first is not None and first.hint else "see each check's hint in the report",
            exit_code=ExitCode.UNHEALTHY,
        )
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "report": to_jsonable(self.report)}

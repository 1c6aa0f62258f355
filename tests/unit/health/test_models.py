"""Health reports: a verdict from the worst check, strict mode, thresholds from settings and flags."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.health.models import (
    DEFAULT_CHECKS,
    CheckName,
    CheckResult,
    CheckStatus,
    HealthReport,
    HealthRequest,
    parse_thresholds,
)
from paysim_cli.output import dumps_json
from paysim_cli.settings import HealthThresholds, Settings


def _report(*statuses: CheckStatus, strict: bool = False) -> HealthReport:
    checks = [
        CheckResult(name=name, status=status, message=f"{name} is {status}", hint=f"fix {name}")
        for name, status in zip(CheckName, statuses, strict=False)
    ]
    return HealthReport.of("dev", datetime.now(UTC), 12.0, checks, strict=strict)


def test_the_worst_check_decides_and_warnings_pass_unless_strict() -> None:
    assert _report(CheckStatus.OK, CheckStatus.OK).healthy
    warned = _report(CheckStatus.OK, CheckStatus.WARN)
    assert (warned.status, warned.healthy, warned.failure()) == (CheckStatus.WARN, True, None)
    strict = _report(CheckStatus.OK, CheckStatus.WARN, strict=True)
    assert not strict.healthy
    assert [check.name for check in strict.unhealthy_checks()] == [CheckName.LAG]
    unknown = _report(CheckStatus.UNKNOWN, CheckStatus.WARN)
    assert (unknown.status, unknown.healthy) == (CheckStatus.UNKNOWN, False)
    assert _report(CheckStatus.FAIL, CheckStatus.UNKNOWN).status is CheckStatus.FAIL


def test_an_unhealthy_report_exits_11_with_the_report_in_its_json_error() -> None:
    failure = _report(CheckStatus.OK, CheckStatus.FAIL, CheckStatus.WARN).failure(waited_seconds=30)

    assert failure is not None
    assert (failure.code, failure.exit_code, int(failure.exit_code)) == ("unhealthy", ExitCode.UNHEALTHY, 11)
    assert failure.message == "the dev pipeline is not healthy after waiting 30 s: lag fail"
    assert failure.hint == "fix lag"
    document = orjson.loads(dumps_json({"error": failure.to_dict()}))
    assert [check["status"] for check in document["error"]["report"]["checks"]] == ["ok", "fail", "warn"]


def test_requests_run_every_check_but_the_canary_unless_probing() -> None:
    assert HealthRequest().selected() == DEFAULT_CHECKS
    assert CheckName.CANARY not in DEFAULT_CHECKS
    probing = HealthRequest(checks=(CheckName.BLOB, CheckName.HUB), probe=True)
    assert probing.selected() == (CheckName.HUB, CheckName.BLOB, CheckName.CANARY)


def test_threshold_flags_override_the_environments_settings() -> None:
    settings = Settings(health=HealthThresholds(lag_warn=5, dead_letter_rate_fail=50))
    request = HealthRequest(thresholds=parse_thresholds(["lag_fail=7", "freshness_warn_seconds=1.5"]))

    effective = request.effective_thresholds(settings)

    assert (effective.lag_warn, effective.lag_fail) == (5, 7)
    assert (effective.freshness_warn_seconds, effective.dead_letter_rate_fail) == (1.5, 50)
    assert HealthRequest().effective_thresholds(settings) is settings.health


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["lag_warn"], "is not NAME=NUMBER"),
        (["lag_warn=many"], "is not NAME=NUMBER"),
        (["lag_wran=5"], "--threshold lag_wran: Extra inputs are not permitted"),
        (["lag_warn=-1"], "--threshold lag_warn: Input should be greater than or equal to 0"),
    ],
)
def test_a_bad_threshold_is_a_usage_error_naming_it(pairs: list[str], message: str) -> None:
    with pytest.raises(PaysimError) as raised:
        HealthRequest(thresholds=parse_thresholds(pairs)).effective_thresholds(Settings())

    assert (raised.value.code, raised.value.exit_code) == ("invalid_threshold", ExitCode.USAGE)
    assert message in raised.value.message


def test_thresholds_come_from_the_environments_table_in_paysim_toml(tmp_path) -> None:
    from paysim_cli.settings import resolve_settings

    config = tmp_path / "paysim.toml"
    config.write_text("[env.staging.health]\nlag_warn = 250\nfreshness_fail_seconds = 45\n")

    settings = resolve_settings({"env": "staging"}, environ={}, config_file=config)

    assert (settings.health.lag_warn, settings.health.freshness_fail_seconds) == (250, 45)
    assert settings.sources["health"] == f"{config} [env.staging]"

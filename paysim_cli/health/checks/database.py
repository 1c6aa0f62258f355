"""PostgreSQL's checks: reachable with connection headroom, migrations current, the dead-letter table."""

from __future__ import annotations

from paysim_cli.health.checks.base import CheckContext, grade, limits, result, worst
from paysim_cli.health.models import CheckName, CheckResult, CheckStatus
from paysim_cli.settings import HealthThresholds

# Connections a client may open: max_connections less those kept for superusers and reserved roles
# (`reserved_connections` exists from PostgreSQL 16; Azure Flexible Server reserves some for itself).
CONNECTIONS = """
SELECT current_setting('server_version'),
       current_setting('max_connections')::int,
       current_setting('superuser_reserved_connections')::int
         + coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"""

DEAD_LETTER = """
SELECT count(*) FILTER (WHERE status = 'pending'),
       count(*) FILTER (WHERE created_at > now() - %s * interval '1 minute')
FROM failed_items"""


def check_database(context: CheckContext) -> CheckResult:
    """The server answers, and how much of its connection limit is in use."""
    thresholds = context.thresholds
    row = context.database.get().execute(CONNECTIONS).fetchone()
    assert row is not None  # an aggregate query always returns a row
    version, maximum, reserved, used = str(row[0]), int(row[1]), int(row[2]), int(row[3])
    available = max(1, maximum - reserved)
    percent = 100.0 * used / available
    status = grade(percent, thresholds.connections_warn_percent, thresholds.connections_fail_percent)
    return result(
        CheckName.DATABASE,
        status,
        f"PostgreSQL {version.split(maxsplit=1)[0]}: {used} of {available} client connections in use",
        value=f"{percent:.0f} % of connections",
        threshold=limits(thresholds.connections_warn_percent, thresholds.connections_fail_percent, "%"),
        hint=None
        if status is CheckStatus.OK
        else "close idle clients or raise max_connections (a bigger SKU on Azure); the Function opens one "
        "connection per worker",
        server_version=version,
        connections_used=used,
        connections_available=available,
    )


def check_migrations(context: CheckContext) -> CheckResult:
    """No pending migration (warn) and no drift between the applied ones and the files (fail)."""
    from paysim_cli.migrations import status

    report = status(context.settings, connection=context.database.get())
    current = f"{report.current_version:04d}"
    if report.drift:
        drifted = ", ".join(f"{item.version:04d} ({item.kind})" for item in report.drift)
        return result(
            CheckName.MIGRATIONS,
            CheckStatus.FAIL,
            f"the applied migrations differ from the files: {drifted}",
            value=f"at {current}, drift",
            hint="`paysim db status` shows the drift; restore the files that were applied, never edit them",
            current_version=report.current_version,
            drift=[item.model_dump() for item in report.drift],
        )
    if report.pending:
        names = ", ".join(f"{item.version:04d}_{item.name}" for item in report.pending)
        return result(
            CheckName.MIGRATIONS,
            CheckStatus.WARN,
            f"{len(report.pending)} pending: {names}",
            value=f"at {current}, {len(report.pending)} pending",
            hint="run `paysim db migrate` (before deploying code that needs them)",
            current_version=report.current_version,
            pending=[item.version for item in report.pending],
        )
    return result(
        CheckName.MIGRATIONS,
        CheckStatus.OK,
        f"at {current}, none pending, no drift",
        value=f"at {current}",
        current_version=report.current_version,
    )


def check_dead_letter(context: CheckContext) -> CheckResult:
    """Failed items waiting for triage, and how many arrived per minute over the last window."""
    thresholds = context.thresholds
    window = thresholds.dead_letter_window_minutes
    row = context.database.get().execute(DEAD_LETTER, (window,)).fetchone()
    assert row is not None
    pending, recent = int(row[0]), int(row[1])
    rate = recent / window
    status = worst(
        grade(pending, thresholds.dead_letter_pending_warn, thresholds.dead_letter_pending_fail),
        grade(rate, thresholds.dead_letter_rate_warn, thresholds.dead_letter_rate_fail),
    )
    return result(
        CheckName.DEAD_LETTER,
        status,
        f"{pending:,} failed items pending; {recent:,} new in the last {window:g} min ({rate:,.1f}/min)",
        value=f"{pending:,} pending, {rate:,.1f}/min",
        threshold=_dead_letter_limits(thresholds),
        hint=None
        if status is CheckStatus.OK
        else "triage them: `paysim dlq stats` groups them by error code; a rising rate is a producer bug",
        pending=pending,
        new_in_window=recent,
        rate_per_minute=round(rate, 2),
        window_minutes=window,
    )


def _dead_letter_limits(thresholds: HealthThresholds) -> str:
    pending = limits(thresholds.dead_letter_pending_warn, thresholds.dead_letter_pending_fail)
    rate = limits(thresholds.dead_letter_rate_warn, thresholds.dead_letter_rate_fail, "/min")
    return f"pending {pending}; rate {rate}"

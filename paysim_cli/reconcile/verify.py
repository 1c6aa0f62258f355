"""`paysim verify RUN_ID` as a service: the run's manifest against the pipeline's per-run tables.

The manifest says what the run delivered (docs/simulate.md); the pipeline records, per run id,
`run_totals` (events aggregated, duplicates dropped, failed items), `run_metrics_5m` (count, sum and
fraud per window and dimensions) and `failed_items.run_id`. A finished pipeline must show:

- processed = the manifest's valid events, and every window cell's count and amount sum equal;
- failed items of the run = its malformed events;
- duplicates dropped = its duplicates for a run on the local log, whose publishes are all-or-nothing;
  at least its duplicates on Event Hubs, where a producer retry after a partly acknowledged publish
  delivers extra identical copies the manifest cannot count (the dedupe drops them too);
- fraud counted = the manifest's fraud events;
- the raw-events archive holds every event the run delivered (once per partition and sequence number;
  at least as many on Event Hubs, for the same reason as duplicates); unless `archive` is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from paysim_cli.db import connect
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.migrations.engine import require_migrated
from paysim_cli.runs.catalog import record_verification, run_not_found
from paysim_cli.runs.layout import MANIFEST_FILE, run_directory
from paysim_cli.runs.manifest import RunManifest
from paysim_cli.settings import Settings

# Differences named in the error message; the report lists them all.
MESSAGE_DIFFERENCES = 3

CellKey = tuple[datetime, str, str, str, str, str]


class Check(BaseModel):
    """One reconciliation rule: what the manifest implies, what the tables hold."""

    name: str
    rule: str
    expected: int
    actual: int
    passed: bool


class Difference(BaseModel):
    """One cell or total that does not reconcile."""

    kind: Literal[
        "total", "missing_window", "unexpected_window", "window_count", "window_amount", "unreadable_blob"
    ]
    subject: str
    expected: int
    actual: int


class ReconciliationReport(BaseModel):
    run_id: str
    manifest: Path
    passed: bool
    sent: int  # delivered: valid + malformed + duplicates
    processed: int
    failed: int
    duplicates_dropped: int
    first_commit_at: datetime | None
    last_commit_at: datetime | None
    archived: int | None  # the run's events in the raw archive; None when not checked
    checks: list[Check]
    differences: list[Difference]
    failed_item_codes: dict[str, int] = {}  # the run's failed items by error code

    def failure(self, report: BaseModel | None = None) -> ReconciliationFailed | None:
        """The error to exit with when the run does not reconcile, carrying `report` (default: this one)."""
        return None if self.passed else ReconciliationFailed(self, report or self)


class ReconciliationFailed(PaysimError):
    """Exit 7, with the whole report in the JSON error, so `--json` stays one document."""

    def __init__(self, reconciliation: ReconciliationReport, report: BaseModel) -> None:
        shown = "; ".join(
            _describe(difference) for difference in reconciliation.differences[:MESSAGE_DIFFERENCES]
        )
        more = len(reconciliation.differences) - MESSAGE_DIFFERENCES
        super().__init__(
            "reconciliation_failed",
            f"run {reconciliation.run_id} does not reconcile: {shown}"
            + (f"; and {more} more" if more > 0 else ""),
            _failure_hint(reconciliation),
            exit_code=ExitCode.VERIFY_FAILED,
            report=report,
        )


def _failure_hint(reconciliation: ReconciliationReport) -> str:
    archive_gaps = any(check.name == "archive" and not check.passed for check in reconciliation.checks)
    hint = (
        "wait until the pipeline has drained (`paysim hub info` shows the lag), then verify again; "
        + (
            "`paysim archive check` shows which ranges the archive misses, `paysim archive repair` "
            "fills them from the hub; "
            if archive_gaps
            else ""
        )
        + "a difference that stays is a pipeline bug"
    )
    if not reconciliation.failed_item_codes:
        return hint
    codes = ", ".join(f"{code} ({count:,})" for code, count in reconciliation.failed_item_codes.items())
    return f"its failed items: {codes}; `paysim dlq list --run-id {reconciliation.run_id}` shows them. {hint}"


def _describe(difference: Difference) -> str:
    return f"{difference.subject}: expected {difference.expected:,}, found {difference.actual:,}"


def load_manifest(settings: Settings, run_id: str) -> tuple[Path, RunManifest]:
    """The run's manifest; `run_not_found` (listing recent runs) when the run is not in the state dir."""
    path = run_directory(settings, run_id) / MANIFEST_FILE
    if not path.is_file():
        raise run_not_found(settings, run_id)
    try:
        return path, RunManifest.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise PaysimError(
            "invalid_manifest",
            f"{path} is not a run manifest: {error.errors()[0]['msg']}",
            "it was edited or cut short; rerun the simulation",
            exit_code=ExitCode.CONFIG,
        ) from error


@dataclass(frozen=True)
class _RunTables:
    """What the pipeline's per-run tables hold for one run."""

    processed: int
    duplicates: int
    first_commit: datetime | None
    last_commit: datetime | None
    failed_codes: dict[str, int]
    windows: list[tuple[Any, ...]]

    @property
    def failed(self) -> int:
        return sum(self.failed_codes.values())


def verify_run(
    settings: Settings, run_id: str, *, archive: bool = True, consumer_group: str | None = None
) -> ReconciliationReport:
    """Reconcile run `run_id`'s manifest with the pipeline's tables and (unless `archive` is off) its
    raw-events archive, under `consumer_group` (default: the setting's); every difference is listed."""
    path, manifest = load_manifest(settings, run_id)
    tables = _read_run_tables(settings, run_id)
    exact_duplicates = manifest.target == "local"
    checks = _total_checks(manifest, tables, exact_duplicates)
    differences = [
        Difference(
            kind="total", subject=f"{check.name} ({check.rule})", expected=check.expected, actual=check.actual
        )
        for check in checks
        if not check.passed
    ]
    window_differences, matching = _window_differences(manifest, tables.windows)
    checks.append(
        Check(
            name="windows",
            rule="cells (window, dimensions) with equal count and sum",
            expected=len(manifest.windows),
            actual=matching,
            passed=not window_differences,
        )
    )
    differences += window_differences
    archived = None
    if archive:
        check, unreadable, archived = _archive_check(settings, manifest, consumer_group, exact_duplicates)
        checks.append(check)
        differences += unreadable
        if not check.passed:
            differences.append(
                Difference(
                    kind="total", subject=f"archive ({check.rule})", expected=check.expected, actual=archived
                )
            )
    return _recorded(settings, run_id, (path, manifest), tables, archived, checks, differences)


def _read_run_tables(settings: Settings, run_id: str) -> _RunTables:
    """The run's totals, failed items by code and window cells; `schema_not_migrated` before 0006."""
    import psycopg

    try:
        with connect(settings, autocommit=True, application_name="paysim verify") as conn:
            require_migrated(settings, conn)
            totals = conn.execute(
                "SELECT processed, duplicates_dropped, first_commit_at, last_commit_at FROM run_totals "
                "WHERE run_id = %s",
                (run_id,),
            ).fetchone()
            failed_codes: dict[str, int] = dict(
                conn.execute(
                    "SELECT error_code, count(*) FROM failed_items WHERE run_id = %s GROUP BY error_code "
                    "ORDER BY count(*) DESC, error_code",
                    (run_id,),
                ).fetchall()
            )
            windows = conn.execute(
                "SELECT window_start, payment_type, currency, merchant_category, channel, status, "
                "event_count, amount_sum, fraud_count FROM run_metrics_5m WHERE run_id = %s",
                (run_id,),
            ).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as error:
        raise PaysimError(
            "schema_not_migrated",
            f"the database has no per-run tables: {error.diag.message_primary}",
            "run `paysim db migrate` (migration 0006 adds them)",
            exit_code=ExitCode.CONFIG,
        ) from error
    processed, duplicates, first_commit, last_commit = totals or (0, 0, None, None)
    return _RunTables(processed, duplicates, first_commit, last_commit, failed_codes, windows)


def _total_checks(manifest: RunManifest, tables: _RunTables, exact_duplicates: bool) -> list[Check]:
    expected = manifest.totals
    return [
        _check("processed", "= valid events sent", expected.valid, tables.processed),
        _check("failed_items", "= malformed events sent", expected.malformed, tables.failed),
        _check(
            "duplicates_dropped",
            "= duplicates sent (local log)" if exact_duplicates else ">= duplicates sent (lower bound)",
            expected.duplicates,
            tables.duplicates,
            at_least=not exact_duplicates,
        ),
        _check(
            "fraud",
            "= fraud events sent",
            sum(expected.fraud.values()),
            sum(int(row[8]) for row in tables.windows),
        ),
    ]


def _recorded(
    settings: Settings,
    run_id: str,
    loaded: tuple[Path, RunManifest],
    tables: _RunTables,
    archived: int | None,
    checks: list[Check],
    differences: list[Difference],
) -> ReconciliationReport:
    """The report, after recording the verification in the run catalog."""
    path, manifest = loaded
    record_verification(
        settings,
        run_id,
        passed=not differences,
        processed=tables.processed,
        failed=tables.failed,
        duplicates_dropped=tables.duplicates,
        differences=len(differences),
        failed_item_codes=tables.failed_codes,
    )
    return ReconciliationReport(
        run_id=run_id,
        manifest=path,
        passed=not differences,
        sent=manifest.totals.delivered,
        processed=tables.processed,
        failed=tables.failed,
        duplicates_dropped=tables.duplicates,
        first_commit_at=tables.first_commit,
        last_commit_at=tables.last_commit,
        archived=archived,
        checks=checks,
        differences=differences,
        failed_item_codes=tables.failed_codes,
    )


def _archive_check(
    settings: Settings, manifest: RunManifest, consumer_group: str | None, exact: bool
) -> tuple[Check, list[Difference], int]:
    """The run's events in the archive against what it delivered, and each blob that cannot be read."""
    from paysim_cli.reconcile.archive import archived_run_events

    found = archived_run_events(settings, manifest.run_id, manifest.started_at, consumer_group)
    check = _check(
        "archive",
        "= events sent, in the raw archive" if exact else ">= events sent, in the raw archive (lower bound)",
        manifest.totals.delivered,
        found.events,
        at_least=not exact,
    )
    unreadable = [
        Difference(
            kind="unreadable_blob", subject=f"raw-events blob {name} cannot be read", expected=1, actual=0
        )
        for name in found.unreadable_blobs
    ]
    if unreadable:
        check = check.model_copy(update={"passed": False})
    return check, unreadable, found.events


def _check(name: str, rule: str, expected: int, actual: int, *, at_least: bool = False) -> Check:
    passed = actual >= expected if at_least else actual == expected
    return Check(name=name, rule=rule, expected=expected, actual=actual, passed=passed)


def _window_differences(manifest: RunManifest, rows: list[tuple[Any, ...]]) -> tuple[list[Difference], int]:
    """Each cell whose count or amount sum differs, or that only one side has; and how many match."""
    expected: dict[CellKey, tuple[int, int]] = {
        (
            cell.window_start.astimezone(UTC),
            cell.payment_type,
            cell.currency,
            cell.mcc,
            cell.channel,
            cell.status,
        ): (
            cell.count,
            cell.amount_minor_sum,
        )
        for cell in manifest.windows
    }
    actual = {(row[0].astimezone(UTC), *row[1:6]): (int(row[6]), int(row[7])) for row in rows}
    differences = []
    for key in sorted(expected.keys() | actual.keys()):
        subject = f"window {key[0]:%Y-%m-%dT%H:%M:%SZ} " + " ".join(key[1:])
        (want_count, want_sum), (count, amount) = expected.get(key, (0, 0)), actual.get(key, (0, 0))
        if key not in actual:
            differences.append(
                Difference(kind="missing_window", subject=subject, expected=want_count, actual=0)
            )
        elif key not in expected:
            differences.append(
                Difference(kind="unexpected_window", subject=subject, expected=0, actual=count)
            )
        else:
            if count != want_count:
                differences.append(
                    Difference(
                        kind="window_count", subject=f"{subject} count", expected=want_count, actual=count
                    )
                )
            if amount != want_sum:
                differences.append(
                    Difference(
                        kind="window_amount", subject=f"{subject} sum", expected=want_sum, actual=amount
                    )
                )
    matching = sum(1 for key, cell in expected.items() if actual.get(key) == cell)
    return differences, matching

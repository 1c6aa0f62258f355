"""Drift between the applied history and the migration files, kind by kind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.migrations.drift import find_drift, refuse_drift
from paysim_cli.migrations.models import AppliedMigration
from paysim_cli.migrations.script import MigrationScript


def script(version: int, name: str, checksum: str = "same") -> MigrationScript:
    up = Path(f"{version:04d}_{name}.up.sql")
    return MigrationScript(version, name, up, None, None, checksum)


def applied(version: int, name: str, checksum: str = "same") -> AppliedMigration:
    return AppliedMigration(
        version=version,
        name=name,
        checksum=checksum,
        applied_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_ms=1,
    )


def test_matching_history_has_no_drift() -> None:
    assert find_drift([script(1, "a"), script(2, "b")], [applied(1, "a")]) == []


def test_every_kind_of_drift_is_found() -> None:
    scripts = [script(1, "a", "edited"), script(2, "renamed"), script(4, "skipped"), script(6, "d")]
    history = [
        applied(1, "a"),
        applied(2, "b"),
        applied(3, "gone"),
        applied(5, "c"),
        applied(6, "d"),
        applied(9, "x"),
    ]
    assert [(item.version, item.kind) for item in find_drift(scripts, history)] == [
        (1, "checksum_mismatch"),
        (2, "renamed"),
        (3, "missing_file"),
        (4, "out_of_order"),
        (5, "missing_file"),
        (9, "unknown_version"),
    ]


def test_refusing_drift_lists_it() -> None:
    refuse_drift([])
    with pytest.raises(PaysimError) as raised:
        refuse_drift(find_drift([script(1, "a", "edited")], [applied(1, "a")]))
    assert (raised.value.code, raised.value.exit_code) == ("schema_drift", ExitCode.DRIFT)
    assert "0001_a: checksum_mismatch (0001_a.up.sql changed after it was applied)" in raised.value.message

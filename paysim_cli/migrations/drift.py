"""Drift: where the applied history and the migration files disagree."""

from __future__ import annotations

from collections.abc import Sequence

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.migrations.models import AppliedMigration, Drift
from paysim_cli.migrations.script import MigrationScript


def find_drift(scripts: Sequence[MigrationScript], applied: Sequence[AppliedMigration]) -> list[Drift]:
    """Edited, renamed or deleted applied files, versions newer than the code, and files skipped over."""
    by_version = {script.version: script for script in scripts}
    applied_versions = {row.version for row in applied}
    latest_known = max(by_version, default=0)
    latest_applied = max(applied_versions, default=0)
    drift: list[Drift] = []
    for row in applied:
        script = by_version.get(row.version)
        if script is None and row.version > latest_known:
            drift.append(
                Drift(
                    version=row.version,
                    name=row.name,
                    kind="unknown_version",
                    detail="applied, but newer than every migration file here (the database is ahead)",
                )
            )
        elif script is None:
            drift.append(
                Drift(version=row.version, name=row.name, kind="missing_file", detail="applied, file deleted")
            )
        elif script.name != row.name:
            drift.append(
                Drift(
                    version=row.version,
                    name=row.name,
                    kind="renamed",
                    detail=f"applied as {row.name}, the file is now {script.label}",
                )
            )
        elif script.checksum != row.checksum:
            drift.append(
                Drift(
                    version=row.version,
                    name=row.name,
                    kind="checksum_mismatch",
                    detail=f"{script.up_path.name} changed after it was applied",
                )
            )
    drift.extend(
        Drift(
            version=script.version,
            name=script.name,
            kind="out_of_order",
            detail=f"not applied, but older than the applied version {latest_applied:04d}",
        )
        for script in scripts
        if script.version not in applied_versions and script.version < latest_applied
    )
    return sorted(drift, key=lambda item: item.version)


def refuse_drift(drift: Sequence[Drift]) -> None:
    """Raise the `schema_drift` error when there is any drift."""
    if drift:
        listed = "; ".join(f"{item.version:04d}_{item.name}: {item.kind} ({item.detail})" for item in drift)
        raise PaysimError(
            "schema_drift",
            f"the database and the migration files disagree: {listed}",
            "restore the applied files as they were (git), or add a new migration instead of editing one; "
            "`paysim db status` lists the drift",
            exit_code=ExitCode.DRIFT,
        )

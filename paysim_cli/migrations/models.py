"""What the migration operations return: plain pydantic models that render as a table or as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

DriftKind = Literal["checksum_mismatch", "renamed", "missing_file", "unknown_version", "out_of_order"]


class AppliedMigration(BaseModel):
    """A row of schema_migrations."""

    version: int
    name: str
    checksum: str
    applied_at: datetime
    duration_ms: int


class PendingMigration(BaseModel):
    version: int
    name: str
    file: str
    transactional: bool


class Drift(BaseModel):
    """A difference between what the database recorded and the files this code ships."""

    version: int
    name: str
    kind: DriftKind
    detail: str


class StatusReport(BaseModel):
    database: str
    sql_dir: str
    current_version: int
    applied: list[AppliedMigration]
    pending: list[PendingMigration]
    drift: list[Drift]


class MigrationStep(BaseModel):
    """One file run (or, in a dry run, to be run); duration_ms is None in a dry run."""

    version: int
    name: str
    file: str
    direction: Literal["up", "down"]
    transactional: bool
    duration_ms: int | None = None


class PlanReport(BaseModel):
    """The result of `migrate` or `rollback`; a dry run carries the SQL it would run, in order."""

    database: str
    sql_dir: str
    direction: Literal["up", "down"]
    dry_run: bool
    from_version: int
    to_version: int
    steps: list[MigrationStep]
    sql: str | None = None


class VerifyCheck(BaseModel):
    kind: Literal["object", "script"]
    name: str
    ok: bool
    detail: str


class VerifyReport(BaseModel):
    database: str
    sql_dir: str
    current_version: int
    checks: list[VerifyCheck]
    pending: list[PendingMigration]


class NewMigrationReport(BaseModel):
    version: int
    name: str
    up_file: str
    down_file: str

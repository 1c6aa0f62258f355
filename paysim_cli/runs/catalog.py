"""The runs in the state directory: what each sent (its manifest) and whether it reconciled.

`paysim verify` (and the demo) record their verdict beside the manifest, so `paysim runs list` can
say which runs were checked without a database at hand.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ValidationError

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.runs.layout import MANIFEST_FILE, VERIFICATION_FILE, run_directory, runs_directory
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.runs.manifest import RunManifest

RunState = Literal["reconciled", "differs", "not verified", "no manifest"]
RECENT_RUNS_IN_HINTS = 3


class Verification(BaseModel):
    """The verdict of the last `paysim verify` of a run."""

    verified_at: datetime
    passed: bool
    processed: int
    failed: int
    duplicates_dropped: int
    differences: int
    failed_item_codes: dict[str, int] = {}


class RunSummary(BaseModel):
    """One run as `paysim runs list` shows it."""

    run_id: str
    directory: Path
    state: RunState
    profile: str | None = None
    seed: int | None = None
    target: str | None = None
    workers: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    delivered: int | None = None  # valid + malformed + duplicates
    malformed: int | None = None
    duplicates: int | None = None
    undelivered: int | None = None
    verification: Verification | None = None


class RunDetail(RunSummary):
    """One run as `paysim runs show` shows it: the summary plus the manifest's totals and files."""

    valid: int | None = None
    out_of_order: int | None = None
    fraud: dict[str, int] = {}
    amount_minor_by_currency: dict[str, int] = {}
    windows: int | None = None
    files: list[str] = []


class RunsReport(BaseModel):
    runs_directory: Path
    runs: list[RunSummary]


def list_runs(settings: Settings, *, limit: int | None = None) -> RunsReport:
    """Every run in the state directory, newest first (run ids begin with their start time)."""
    root = runs_directory(settings)
    names = (
        sorted((entry.name for entry in root.iterdir() if entry.is_dir()), reverse=True)
        if root.is_dir()
        else []
    )
    return RunsReport(runs_directory=root, runs=[_summary(settings, name) for name in names[:limit]])


def show_run(settings: Settings, run_id: str) -> RunDetail:
    directory = run_directory(settings, run_id)
    if not directory.is_dir():
        raise run_not_found(settings, run_id)
    summary = _summary(settings, run_id)
    manifest = _manifest(directory)
    files = sorted(path.name for path in directory.iterdir())
    if manifest is None:
        return RunDetail(**summary.model_dump(), files=files)
    totals = manifest.totals
    return RunDetail(
        **summary.model_dump(),
        valid=totals.valid,
        out_of_order=totals.out_of_order,
        fraud=totals.fraud,
        amount_minor_by_currency=totals.amount_minor_by_currency,
        windows=len(manifest.windows),
        files=files,
    )


def run_not_found(settings: Settings, run_id: str) -> PaysimError:
    """`run_not_found`, naming the most recent runs there are."""
    recent = [run.run_id for run in list_runs(settings, limit=RECENT_RUNS_IN_HINTS).runs]
    return PaysimError(
        "run_not_found",
        f"no run {run_id!r} in {runs_directory(settings)}",
        f"recent runs: {', '.join(recent)} (`paysim runs list` shows them all)"
        if recent
        else "`paysim simulate` writes a run and prints its id",
        exit_code=ExitCode.CONFIG,
    )


def record_verification(
    settings: Settings,
    run_id: str,
    *,
    passed: bool,
    processed: int,
    failed: int,
    duplicates_dropped: int,
    differences: int,
    failed_item_codes: dict[str, int] | None = None,
) -> Verification:
    """Write the verdict beside the run's manifest (atomically: a reader never sees half of it)."""
    verification = Verification(
        verified_at=datetime.now(UTC),
        passed=passed,
        processed=processed,
        failed=failed,
        duplicates_dropped=duplicates_dropped,
        differences=differences,
        failed_item_codes=failed_item_codes or {},
    )
    path = run_directory(settings, run_id) / VERIFICATION_FILE
    if path.parent.is_dir():
        temporary = path.with_suffix(".tmp")
        temporary.write_text(verification.model_dump_json(indent=2), encoding="utf-8")
        os.replace(temporary, path)
    return verification


def _summary(settings: Settings, run_id: str) -> RunSummary:
    directory = run_directory(settings, run_id)
    manifest = _manifest(directory)
    verification = _verification(directory)
    if manifest is None:
        return RunSummary(run_id=run_id, directory=directory, state="no manifest", verification=verification)
    state: RunState = (
        "not verified" if verification is None else "reconciled" if verification.passed else "differs"
    )
    totals = manifest.totals
    return RunSummary(
        run_id=run_id,
        directory=directory,
        state=state,
        profile=manifest.profile.name,
        seed=manifest.seed,
        target=manifest.target,
        workers=manifest.workers,
        started_at=manifest.started_at,
        finished_at=manifest.finished_at,
        delivered=totals.delivered,
        malformed=totals.malformed,
        duplicates=totals.duplicates,
        undelivered=totals.undelivered,
        verification=verification,
    )


def _manifest(directory: Path) -> RunManifest | None:
    from paysim_cli.runs.manifest import RunManifest  # the model and its contract load on use

    path = directory / MANIFEST_FILE
    if not path.is_file():
        return None  # a run still sending, or one killed before it could write it
    try:
        return RunManifest.model_validate_json(path.read_bytes())
    except ValidationError:
        return None


def _verification(directory: Path) -> Verification | None:
    path = directory / VERIFICATION_FILE
    if not path.is_file():
        return None
    try:
        return Verification.model_validate_json(path.read_bytes())
    except ValidationError:
        return None  # torn or edited by hand: as good as never verified

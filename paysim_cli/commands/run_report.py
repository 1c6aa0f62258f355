"""`--report FILE.html` on `simulate`, `pipeline run` and `demo`: the run's report once the verb is done."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from paysim_cli.output import Output
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.reconcile.verify import ReconciliationReport


def write_requested_report(
    output: Output,
    settings: Settings,
    path: Path | None,
    run_ids: Iterable[str],
    *,
    verify: bool,
    reconciliation: ReconciliationReport | None = None,
) -> None:
    """Write the report of the last of `run_ids` that has a manifest here, when `path` was asked for.

    `pipeline run` may have processed several runs (or runs of another state directory): it reports the
    most recently started one it can. Nothing to report is a warning, not a failure of the verb.
    """
    if path is None:
        return
    from paysim_cli.runs.catalog import show_run
    from paysim_cli.runs.html import write_run_report

    known = [show_run(settings, run_id) for run_id in run_ids if _has_manifest(settings, run_id)]
    if not known:
        output.warn(f"no run with a manifest in {settings.state_dir} to report: {path} not written")
        return
    run = max(known, key=lambda detail: (detail.started_at is not None, detail.started_at))
    report = write_run_report(settings, run.run_id, path, verify=verify, reconciliation=reconciliation)
    output.status(f"report of run {run.run_id} ({report.verdict}) written to {path}")


def _has_manifest(settings: Settings, run_id: str) -> bool:
    from paysim_cli.runs.layout import MANIFEST_FILE, run_directory

    return (run_directory(settings, run_id) / MANIFEST_FILE).is_file()

"""The faults a `paysim demo --faults` run took, kept in the run's directory (faults.json) so that its
report can mark each one on the timeline: when it struck, and when the pipeline had recovered from it.

The demo writes the file when its campaign is over (demo/faulted.py); the times are wall-clock UTC,
like the series' seconds, so a fault lands on the same timeline as the figures it disturbed.
"""

from __future__ import annotations

import os
from datetime import datetime

from pydantic import BaseModel, ValidationError

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.runs.layout import FAULTS_FILE, run_directory
from paysim_cli.settings import Settings


class RunFault(BaseModel):
    number: int  # 1.., in the order they struck
    kind: str  # a fault kind of the spec: worker-kill, host-kill, ...
    struck_at: datetime
    recovered_at: datetime | None  # the part back and the pipeline committing again; None: never
    detail: str  # what was struck ("killed worker 2 (pid 4711)")
    problem: str | None = None  # why the fault counts against the run, if it does


class RunFaults(BaseModel):
    spec: str  # as typed after --faults
    faults: list[RunFault]


def write_faults(settings: Settings, run_id: str, faults: RunFaults) -> None:
    """Beside the run's manifest, atomically (a report never reads half of it)."""
    path = run_directory(settings, run_id) / FAULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(faults.model_dump_json(indent=2), encoding="utf-8")
    os.replace(temporary, path)


def read_faults(settings: Settings, run_id: str) -> list[RunFault]:
    """The run's faults, earliest first; none for a run without faults. A file that is not what the demo
    wrote is an error rather than a report that silently leaves its faults out."""
    path = run_directory(settings, run_id) / FAULTS_FILE
    if not path.is_file():
        return []
    try:
        faults = RunFaults.model_validate_json(path.read_bytes()).faults
    except ValidationError as error:
        raise PaysimError(
            "invalid_faults_file",
            f"{path} is not a run's fault record: {error.errors()[0]['msg']}",
            f"it was edited or cut short; delete it to report run {run_id} without its faults",
            exit_code=ExitCode.CONFIG,
        ) from error
    return sorted(faults, key=lambda fault: fault.struck_at)

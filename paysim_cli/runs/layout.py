"""A run's directory under the state directory, and the files in it."""

from __future__ import annotations

from pathlib import Path

from paysim_cli.settings import Settings

MANIFEST_FILE = "manifest.json"  # what the run delivered, written when it ends (docs/simulate.md)
UNDELIVERED_FILE = "undelivered.ndjson"  # events the target never acknowledged
PROFILE_FILE = "profile.yaml"  # the profile as it was when the run started
VERIFICATION_FILE = "verification.json"  # the verdict of the last `paysim verify` of the run
FAULTS_FILE = "faults.json"  # the faults a `paysim demo --faults` run took: when each struck and recovered


def runs_directory(settings: Settings) -> Path:
    return settings.state_dir / "runs"


def run_directory(settings: Settings, run_id: str) -> Path:
    return runs_directory(settings) / run_id


SERIES_DIRECTORY = "series"  # each recorder's time series (docs/reports.md), merged when read


def simulate_series_file(run_dir: Path, worker: int) -> Path:
    return run_dir / SERIES_DIRECTORY / f"simulate-{worker}.json"


def pipeline_series_file(run_dir: Path, host_id: str) -> Path:
    return run_dir / SERIES_DIRECTORY / f"pipeline-{host_id}.json"

"""`up` applies a saved plan only while its record says it still matches the configuration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.infra import read_saved_plan
from paysim_cli.infra.plan import PlanRecord, summarize_plan
from paysim_cli.infra.workspace import configuration_digest, resolve_workspace
from paysim_cli.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "tf" / "environments" / "dev").mkdir(parents=True)
    (tmp_path / "tf" / "environments" / "dev" / "main.tf").write_text("locals {}\n")
    return Settings(env="dev", terraform_root=tmp_path / "tf", state_dir=tmp_path / "state")


def _save_plan(settings: Settings, *, root: str | None = None) -> None:
    workspace = resolve_workspace(settings)
    workspace.state_dir.mkdir(parents=True)
    workspace.plan_path.write_bytes(b"plan")
    record = PlanRecord(
        env="dev",
        root=root or str(workspace.root),
        configuration_digest=configuration_digest(workspace),
        created_at=datetime.now(UTC),
        summary=summarize_plan({}),
    )
    workspace.plan_record_path.write_text(record.model_dump_json())


def _stale_reason(settings: Settings) -> str:
    with pytest.raises(PaysimError) as raised:
        read_saved_plan(settings)
    assert (raised.value.code, raised.value.exit_code) == ("stale_plan", ExitCode.CONFLICT)
    return raised.value.message


def test_a_fresh_plan_is_returned(settings: Settings) -> None:
    _save_plan(settings)

    assert read_saved_plan(settings).env == "dev"


def test_a_plan_from_another_root_is_stale(settings: Settings) -> None:
    _save_plan(settings, root="/elsewhere/terraform")

    assert "another root (/elsewhere/terraform)" in _stale_reason(settings)


def test_an_unreadable_record_is_stale(settings: Settings) -> None:
    _save_plan(settings)
    resolve_workspace(settings).plan_record_path.write_text("{not json")

    assert "unreadable" in _stale_reason(settings)

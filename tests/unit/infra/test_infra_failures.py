"""Terraform's failures, as captured from its stderr, become one-line errors with the right exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode
from paysim_cli.infra.terraform import TerraformRun, classify_failure, failure_summary
from paysim_cli.infra.workspace import Workspace

WORKSPACE = Workspace(
    env="dev",
    root=Path("/repo/terraform"),
    env_dir=Path("/repo/terraform/environments/dev"),
    state_dir=Path("/repo/.paysim/infra/dev"),
    profile_path=Path("/repo/.paysim/environments/dev.json"),
)

# What the azurerm provider and backend print when no credential works (captured from real runs).
AZURE_CLI_NOT_LOGGED_IN = (
    "Planning failed. Terraform encountered an error while generating this plan.\n\n"
    "╷\n"
    "│ Error: building account: could not acquire access token to parse claims: running Azure CLI: "
    "exit status 1: ERROR: Please run 'az login' to setup account.\n"
    "│\n"
    '│   with provider["registry.terraform.io/hashicorp/azurerm"],\n'
    '│   on versions.tf line 18, in provider "azurerm":\n'
    "╵\n"
)
BACKEND_NOT_LOGGED_IN = (
    "Initializing the backend...\n"
    "╷\n"
    "│ Error: Failed to get existing workspaces: Error retrieving keys for Storage Account "
    '"stpaysimtfstate":\n'
    "│ obtaining Authorization Token from the Azure CLI: authenticating using the Azure CLI is only "
    "supported as a User\n"
    "╵\n"
)
EXPIRED_TOKEN = "Error: retrieving: AADSTS700082: The refresh token has expired due to inactivity."


def _run(stderr: str, returncode: int = 1, stdout: str = "") -> TerraformRun:
    return TerraformRun(returncode=returncode, stdout=stdout, stderr=stderr)


@pytest.mark.parametrize(
    ("command", "stderr"),
    [("plan", AZURE_CLI_NOT_LOGGED_IN), ("init", BACKEND_NOT_LOGGED_IN), ("apply", EXPIRED_TOKEN)],
)
def test_not_logged_in(command: str, stderr: str) -> None:
    error = classify_failure(command, _run(stderr), WORKSPACE)

    assert (error.code, error.exit_code) == ("not_logged_in", ExitCode.AUTH)
    assert "az login" in (error.hint or "")


def test_state_lock_without_lock_info_still_says_how_to_unlock() -> None:
    error = classify_failure(
        "apply", _run("Error: Error acquiring the state lock\n\nresource busy"), WORKSPACE
    )

    assert (error.code, error.exit_code) == ("state_locked", ExitCode.CONFLICT)
    assert error.message == "the dev state is locked by another terraform run"
    assert "terraform force-unlock LOCK_ID" in (error.hint or "")


def test_terraform_reports_the_saved_plan_stale() -> None:
    stderr = "Error: Saved plan is stale\n\nThe given plan file can no longer be applied: the state changed"
    error = classify_failure("apply", _run(stderr), WORKSPACE)

    assert (error.code, error.exit_code) == ("stale_plan", ExitCode.CONFLICT)
    assert "paysim infra plan --env dev" in (error.hint or "")


def test_not_initialized_only_outside_init() -> None:
    stderr = 'Error: Module not installed\n\nThis module is not yet installed. Run "terraform init".'

    assert classify_failure("plan", _run(stderr), WORKSPACE).code == "not_initialized"
    assert classify_failure("init", _run(stderr), WORKSPACE).code == "terraform_failed"


def test_other_failures_keep_the_error_and_its_detail_on_one_line_with_secrets_masked() -> None:
    stderr = """
Error: Resource precondition failed

  on main.tf line 15, in resource "terraform_data" "database":
  15:       condition     = var.database_reachable
    ├────────────────
    │ var.database_reachable is false

cannot reach postgresql://admin:hunter2@db:5432/paysim:
connection refused.
"""
    error = classify_failure("plan", _run(stderr), WORKSPACE)

    assert (error.code, error.exit_code) == ("terraform_failed", ExitCode.EXTERNAL)
    assert error.message == (
        "terraform plan failed (exit 1): Error: Resource precondition failed: "
        "cannot reach postgresql://admin:****@db:5432/paysim: connection refused."
    )
    assert "environments/dev" in (error.hint or "")


def test_summary_without_an_error_line_is_the_output_tail() -> None:
    output = "\n".join(f"line {number}" for number in range(10))

    assert failure_summary(output) == "line 4 line 5 line 6 line 7 line 8 line 9"
    assert failure_summary("") == "no output"
    assert failure_summary("Error: Unsupported argument") == "Error: Unsupported argument"

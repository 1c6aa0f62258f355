"""Runs the terraform binary through python-terraform and turns its failures into PaysimErrors."""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.infra.workspace import Workspace
from paysim_cli.secrets import mask_secrets

logger = logging.getLogger(__name__)

TERRAFORM_BINARY = "terraform"
# terraform plan -detailed-exitcode: 0 no changes, 1 error, 2 changes present.
PLAN_HAS_CHANGES = 2
_TAIL_LINES = 6
_MAX_SUMMARY = 400

# What the azurerm provider and backend print when no Azure credential is usable.
_NOT_LOGGED_IN = re.compile(
    r"az login|Azure CLI|authenticating using the Azure CLI|building AzureRM Client|"
    r"unable to build authorizer|could not acquire access token|AADSTS\d+",
    re.IGNORECASE,
)
_STATE_LOCKED = re.compile(r"Error acquiring the state lock", re.IGNORECASE)
_LOCK_ID = re.compile(r"^\s*ID:\s*(\S+)", re.MULTILINE)
_LOCK_HOLDER = re.compile(r"^\s*Who:\s*(\S+)", re.MULTILINE)
_STALE_PLAN = re.compile(r"Saved plan is stale", re.IGNORECASE)
_NOT_INITIALIZED = re.compile(
    r"terraform init|Backend initialization required|Module not installed|"
    r"Required plugins are not installed|Inconsistent dependency lock file",
    re.IGNORECASE,
)
_BOX_DRAWING = re.compile(r"^[\s│╷╵├─]+")


@dataclass(frozen=True)
class TerraformRun:
    returncode: int
    stdout: str
    stderr: str


def terraform_binary() -> str:
    """The terraform executable on PATH, or an error that says how to get one."""
    found = shutil.which(TERRAFORM_BINARY)
    if found is None:
        raise PaysimError(
            "terraform_not_found",
            "the terraform binary is not on PATH",
            "install Terraform 1.9 or newer (https://developer.hashicorp.com/terraform/install) and retry",
            exit_code=ExitCode.UNAVAILABLE,
        )
    return found


def run_terraform(
    workspace: Workspace,
    command: str,
    *args: str,
    accept: frozenset[int] = frozenset({0}),
    **options: object,
) -> TerraformRun:
    """Run `terraform COMMAND` in the environment's root; a return code outside `accept` raises."""
    from python_terraform import IsFlagged, Terraform

    terraform = Terraform(working_dir=str(workspace.env_dir), terraform_bin_path=terraform_binary())
    logger.info("terraform %s %s in %s", command, " ".join(args), workspace.env_dir)
    returncode, stdout, stderr = terraform.cmd(command, *args, no_color=IsFlagged, **options)
    run = TerraformRun(int(returncode), stdout or "", stderr or "")
    if run.returncode not in accept:
        raise classify_failure(command, run, workspace)
    return run


def classify_failure(command: str, run: TerraformRun, workspace: Workspace) -> PaysimError:
    """The one-line error for a failed terraform command, recognising the failures a user can fix."""
    output = f"{run.stderr}\n{run.stdout}"
    env = workspace.env
    if _STATE_LOCKED.search(output):
        lock = _LOCK_ID.search(output)
        holder = _LOCK_HOLDER.search(output)
        unlock = f"terraform force-unlock {lock.group(1)}" if lock else "terraform force-unlock LOCK_ID"
        return PaysimError(
            "state_locked",
            f"the {env} state is locked by {holder.group(1) if holder else 'another terraform run'}",
            f"wait for it to finish; if it died, run `{unlock}` in {workspace.env_dir}",
            exit_code=ExitCode.CONFLICT,
        )
    if _NOT_LOGGED_IN.search(output):
        return PaysimError(
            "not_logged_in",
            f"terraform {command} could not authenticate to Azure",
            "run `az login` (and `az account set --subscription ID`), or set ARM_CLIENT_ID, ARM_TENANT_ID "
            "and ARM_SUBSCRIPTION_ID for a service principal",
            exit_code=ExitCode.AUTH,
        )
    if _STALE_PLAN.search(output):
        return stale_plan_error(env, "the state changed since the plan was made")
    if command != "init" and _NOT_INITIALIZED.search(output):
        return PaysimError(
            "not_initialized",
            f"the {env} Terraform root is not initialised",
            f"run `paysim infra init --env {env}`",
            exit_code=ExitCode.CONFIG,
        )
    return PaysimError(
        "terraform_failed",
        f"terraform {command} failed (exit {run.returncode}): {failure_summary(output)}",
        f"run `terraform {command}` in {workspace.env_dir} for the full output",
        exit_code=ExitCode.EXTERNAL,
    )


def stale_plan_error(env: str, reason: str) -> PaysimError:
    return PaysimError(
        "stale_plan",
        f"the saved {env} plan is stale: {reason}",
        f"run `paysim infra plan --env {env}` again, review it, then `paysim infra up --env {env}`",
        exit_code=ExitCode.CONFLICT,
    )


def failure_summary(output: str) -> str:
    """Terraform's first error and its explanation on one line, without the source excerpt, secrets masked."""
    paragraphs = _paragraphs(output)
    start = next((i for i, lines in enumerate(paragraphs) if lines[0].startswith("Error:")), None)
    if start is None:
        tail = [line for lines in paragraphs for line in lines][-_TAIL_LINES:]
        return mask_secrets(" ".join(tail)) or "no output"
    summary = " ".join(paragraphs[start])
    # Terraform follows the summary with the source location ("on main.tf line 3 ...") and then the detail.
    detail = next(
        (lines for lines in paragraphs[start + 1 :] if not lines[0].startswith(("on ", "with "))),
        [],
    )
    text = f"{summary}: {' '.join(detail)}" if detail else summary
    return mask_secrets(text[:_MAX_SUMMARY])


def _paragraphs(output: str) -> list[list[str]]:
    """Terraform's output as blank-line separated paragraphs of stripped lines, box drawing removed."""
    paragraphs: list[list[str]] = [[]]
    for raw in output.splitlines():
        line = _BOX_DRAWING.sub("", raw).strip()
        if line:
            paragraphs[-1].append(line)
        elif not raw.strip() and paragraphs[-1]:
            paragraphs.append([])
    return [lines for lines in paragraphs if lines]

"""The real tools over terraform/: `terraform fmt`, the naming module evaluated by terraform, and checkov."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

REPOSITORY = Path(__file__).resolve().parents[3]
TERRAFORM = REPOSITORY / "terraform"
CHECKOV = REPOSITORY / ".tools" / "checkov-venv" / "bin" / "checkov"
ENVIRONMENTS = ("dev", "staging", "production")

requires_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")


def _terraform(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["terraform", *args], cwd=cwd, capture_output=True, text=True, check=False)


@requires_terraform
def test_terraform_fmt_is_clean() -> None:
    result = _terraform("fmt", "-check", "-recursive", "-no-color", str(TERRAFORM), cwd=REPOSITORY)

    assert result.returncode == 0, f"run `terraform fmt -recursive terraform/`: {result.stdout}"


@requires_terraform
def test_names_follow_the_convention_in_every_environment(tmp_path: Path) -> None:
    """abbreviation-project-environment-region, evaluated by terraform from each environment's tfvars."""
    calls, tfvars_by_env = [], {}
    for env in ENVIRONMENTS:
        with (TERRAFORM / "environments" / env / "terraform.tfvars").open(encoding="utf-8") as handle:
            tfvars = tfvars_by_env[env] = hcl2.load(handle)
        extra_tags = ", ".join(f"{key} = {value}" for key, value in tfvars["extra_tags"].items())
        calls.append(
            f'module "{env}" {{\n'
            f'  source      = "{TERRAFORM / "modules" / "naming"}"\n'
            f'  project     = "paysim"\n'
            f"  environment = {tfvars['environment']}\n"
            f"  location    = {tfvars['location']}\n"
            f"  suffix      = {tfvars['name_suffix']}\n"
            f"  extra_tags  = {{ {extra_tags} }}\n"
            f"}}\n"
            f'output "{env}" {{\n  value = module.{env}\n}}\n'
        )
    (tmp_path / "main.tf").write_text("\n".join(calls), encoding="utf-8")
    for args in (
        ("init", "-input=false", "-no-color"),
        ("apply", "-auto-approve", "-input=false", "-no-color"),
    ):
        result = _terraform(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    outputs = json.loads(_terraform("output", "-json", cwd=tmp_path).stdout)

    for env in ENVIRONMENTS:
        naming = outputs[env]["value"]
        names, tags, region = naming["names"], naming["tags"], naming["region_abbreviation"]
        for kind, name in names.items():
            if kind == "storage_account":
                assert name == f"stpaysim{env}{region}"[:24]
                assert re.fullmatch(r"[a-z0-9]{3,24}", name)
            else:
                assert re.fullmatch(rf"[a-z]+-paysim-{env}-{region}", name), name
        assert len(names["function_app"]) <= 32
        assert tags == {
            "project": "paysim",
            "environment": env,
            "managed_by": "terraform",
            "repository": "paysim",
        } | {key: value.strip('"') for key, value in tfvars_by_env[env]["extra_tags"].items()}


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov is not installed: run scripts/install_checkov.sh")
def test_checkov_finds_no_failed_check_and_every_skip_says_why() -> None:
    result = subprocess.run(
        [str(CHECKOV), "-d", str(TERRAFORM), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    results = report["results"]

    failed = [(check["check_id"], check["resource"]) for check in results["failed_checks"]]
    assert failed == [], failed
    assert results["passed_checks"], "checkov evaluated nothing"
    for skipped in results["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped["check_id"]

"""The real tools over terraform/: `terraform fmt`, the naming module evaluated by terraform, and checkov."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

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


def _hcl(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle)


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _block(document: dict[str, Any], kind: str, *labels: str) -> dict[str, Any]:
    for block in document.get(kind, []):
        body: Any = block
        for label in labels:
            body = body.get(f'"{label}"', {}) if isinstance(body, dict) else {}
        if body:
            return dict(body)
    raise AssertionError(f"no {kind} {' '.join(labels)}")


@requires_terraform
def test_each_environment_passes_the_function_app_validations(tmp_path: Path) -> None:
    """The function_app module's variable validations, evaluated by terraform for every environment's tfvars.

    A fixture root takes the pipeline's variables.tf (types and optional() defaults) and calls a copy of
    function_app's variables.tf with the arguments the pipeline passes from `var.function_app`, so terraform
    itself judges each environment's values, and a zone-balanced plan of one instance is refused. The other
    arguments get placeholders: their resources need the azurerm provider, which cannot be downloaded here.
    """
    (tmp_path / "function_app").mkdir()
    shutil.copy(TERRAFORM / "modules" / "function_app" / "variables.tf", tmp_path / "function_app")
    shutil.copy(TERRAFORM / "modules" / "pipeline" / "variables.tf", tmp_path)
    call = _block(_hcl(TERRAFORM / "modules" / "pipeline" / "main.tf"), "module", "function_app")
    declared = {
        _unquote(name): body
        for block in _hcl(TERRAFORM / "modules" / "function_app" / "variables.tf")["variable"]
        for name, body in block.items()
    }
    arguments = []
    for name, value in call.items():
        if name == "source" or name.startswith("__"):
            continue
        if isinstance(value, str) and value.startswith("${var.function_app."):
            arguments.append(f"  {name} = {value[2:-1]}")
        else:
            arguments.append(
                f"  {name} = {'{}' if 'map' in declared[name]['type'] else json.dumps('placeholder')}"
            )
    (tmp_path / "main.tf").write_text(
        'module "function_app" {\n  source = "./function_app"\n' + "\n".join(arguments) + "\n}\n",
        encoding="utf-8",
    )
    assert _terraform("init", "-input=false", "-no-color", cwd=tmp_path).returncode == 0

    def plan(environment: str, *overrides: str) -> subprocess.CompletedProcess[str]:
        tfvars = TERRAFORM / "environments" / environment / "terraform.tfvars"
        return _terraform(
            "plan",
            "-input=false",
            "-no-color",
            "-lock=false",
            f"-var-file={tfvars}",
            *overrides,
            cwd=tmp_path,
        )

    for environment in ENVIRONMENTS:
        result = plan(environment)
        assert result.returncode == 0, f"{environment}: {result.stderr}"
    zone_balanced = (
        'function_app={hosting_plan="elastic_premium", zone_balancing_enabled=true, worker_count=%d}'
    )
    refused = plan("production", "-var", zone_balanced % 1)
    assert refused.returncode == 1
    assert "zone_balancing_enabled needs worker_count >= 2" in " ".join(refused.stderr.split())
    assert plan("production", "-var", zone_balanced % 2).returncode == 0

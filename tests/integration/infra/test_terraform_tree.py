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


class SettingsRoot:
    """A root whose terraform_data holds the app settings under the Flex app's own ignore_changes rule."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        module = _hcl(TERRAFORM / "modules" / "function_app" / "main.tf")
        flex = _block(module, "resource", "azurerm_function_app_flex_consumption", "this")
        ignored = [text[2:-1] for block in flex["lifecycle"] for text in block["ignore_changes"]]
        locals_ = {name: body for block in module["locals"] for name, body in block.items()}
        # What `paysim function deploy` may write: the list the module publishes as release_setting_names.
        self.release = sorted(_unquote(name) for name in locals_["release_setting_names"])
        pipeline_call = _block(_hcl(TERRAFORM / "modules" / "pipeline" / "main.tf"), "module", "function_app")
        self.terraform_owned = {
            name: "from-terraform"
            for body in (
                locals_["connection_settings"],
                locals_["host_storage_settings"],
                locals_["flex_host_storage_settings"],
                pipeline_call["app_settings"],
            )
            for name in body
            if not name.startswith("__")
        }
        rule = ", ".join(text.replace("app_settings[", "input[") for text in ignored)
        (directory / "main.tf").write_text(
            'variable "app_settings" {\n  type = map(string)\n}\n\n'
            'resource "terraform_data" "app" {\n  input = var.app_settings\n\n'
            f"  lifecycle {{\n    ignore_changes = [{rule}]\n  }}\n}}\n",
            encoding="utf-8",
        )

    def run(self, *args: str, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
        (self.directory / "settings.tfvars.json").write_text(
            json.dumps({"app_settings": settings}), encoding="utf-8"
        )
        return _terraform(
            *args, "-input=false", "-no-color", "-var-file=settings.tfvars.json", cwd=self.directory
        )

    def deploy(self, settings: dict[str, str]) -> None:
        """What the provider's refresh reads after `paysim function deploy` wrote `settings` to the app."""
        state = json.loads(_terraform("state", "pull", cwd=self.directory).stdout)
        attributes = state["resources"][0]["instances"][0]["attributes"]
        for name in ("input", "output"):
            attributes[name]["value"].update(settings)
        state["serial"] += 1
        (self.directory / "deployed.tfstate").write_text(json.dumps(state), encoding="utf-8")
        assert _terraform("state", "push", "deployed.tfstate", cwd=self.directory).returncode == 0

    def plan(self, settings: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The plan's exit code (0: no changes, 2: changes) and the settings it would write."""
        result = self.run("plan", "-detailed-exitcode", "-out=plan.tfplan", settings=settings)
        assert result.returncode in (0, 2), result.stderr
        shown = json.loads(_terraform("show", "-json", "plan.tfplan", cwd=self.directory).stdout)
        (change,) = shown["resource_changes"]
        return result.returncode, change["change"]["after"]["input"]


@requires_terraform
def test_a_plan_after_a_release_deploy_shows_no_settings_change(tmp_path: Path) -> None:
    """The settings ownership rule (ADR 0012), run by the real terraform on a terraform_data stand-in.

    The azurerm provider cannot be downloaded here, so terraform_data holds the app settings, with the
    function_app module's own ignore_changes list (read from its Flex app) and its own Terraform-owned setting
    names. Editing the state stands in for the provider's refresh after `paysim function deploy`. This proves
    Terraform's half: a deploy of the release settings leaves the next plan empty, an infrastructure change
    plans only its own key and carries the release values along, and a deploy that strays outside its keys
    is reverted (so `paysim function` must refuse that). It does not prove azurerm's half, checked in its
    source instead: its read returns every app setting but the five it moves to other arguments, and its
    update writes the planned map whole; only a plan against a real app after a deploy shows that.
    """
    root = SettingsRoot(tmp_path)
    terraform_settings = root.terraform_owned
    assert root.release
    assert not set(root.release) & set(terraform_settings)
    assert root.run("init", settings=terraform_settings).returncode == 0
    assert root.run("apply", "-auto-approve", settings=terraform_settings).returncode == 0

    release = {name: f"release-2-{index}" for index, name in enumerate(root.release)}
    root.deploy(release)
    assert root.plan(terraform_settings) == (0, terraform_settings | release)

    moved = terraform_settings | {"PAYSIM_EVENTHUB_NAME": "payments-v2"}
    assert root.plan(moved) == (2, moved | release)

    root.deploy({"PAYSIM_DATABASE_URL": "postgresql://changed-by-a-release"})
    assert root.plan(terraform_settings) == (2, terraform_settings | release)

    root.deploy({"PAYSIM_UNLISTED_KNOB": "1"})
    assert root.plan(terraform_settings) == (2, terraform_settings | release)

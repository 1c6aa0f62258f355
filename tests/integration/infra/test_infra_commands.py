"""`paysim infra` as a user runs it: the real terraform binary on a fixture root of built-in resources."""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from cli_results import json_data, json_error
from typer.testing import Result

from paysim_cli.errors import ExitCode
from paysim_cli.settings import connection_profile_path, resolve_settings

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "terraform" / "root"

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")

Infra = Callable[..., Result]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A private copy of the fixture root: terraform writes state and .terraform/ beside the configuration."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "root"))


@pytest.fixture
def infra(cli: Callable[..., Result], root: Path) -> Infra:
    """`paysim --state-dir <tmp> [GLOBAL...] infra VERB --root <copy> ARGS...`."""

    def invoke(verb: str, *args: str, before: tuple[str, ...] = (), input: str | None = None) -> Result:
        return cli(*before, "infra", verb, "--root", str(root), *args, input=input)

    return invoke


def _state_resources(root: Path, env: str) -> int:
    state = root / "environments" / env / "terraform.tfstate"
    return len(json.loads(state.read_text())["resources"]) if state.exists() else 0


def test_init_plan_up_output_down(infra: Infra, root: Path, state_dir: Path) -> None:
    init = json_data(infra("init", "--env", "dev", "--json"))
    assert init["backend_config"] == str(root / "environments" / "dev" / "backend.hcl")

    plan = json_data(infra("plan", "--env", "dev", "--json"))
    assert Path(str(plan["plan_file"])).is_file()
    assert plan["summary"]["add"] == 3  # type: ignore[index]
    assert plan["summary"]["by_type"] == [  # type: ignore[index]
        {"type": "terraform_data", "add": 3, "change": 0, "destroy": 0}
    ]

    applied = json_data(infra("up", "--env", "dev", "--yes", "--json"))
    assert applied == {"env": "dev", "added": 3, "changed": 0, "destroyed": 0}
    assert _state_resources(root, "dev") == 3

    written = json_data(infra("output", "--env", "dev", "--json"))
    profile_path = connection_profile_path(state_dir, "dev")
    assert written["path"] == str(profile_path.resolve())
    assert orjson.loads(profile_path.read_bytes()) == written["profile"]
    settings = resolve_settings({"env": "dev", "state_dir": state_dir}, environ={})
    assert settings.eventhub_namespace == "evhns-paysim-dev-weu.servicebus.windows.net"
    assert settings.database_url == (
        "postgresql://paysim-db-admins@psql-paysim-dev-weu.postgres.database.azure.com:5432/paysim?sslmode=require"
    )
    assert settings.database_auth == "entra"

    replanned = json_data(infra("plan", "--env", "dev", "--json"))
    assert replanned["summary"]["resources"] == []  # type: ignore[index]

    destroyed = json_data(infra("down", "--env", "dev", "--yes", "--json"))
    assert destroyed == {"env": "dev", "destroyed": 3, "removed_profile": str(profile_path.resolve())}
    assert not profile_path.exists()
    assert _state_resources(root, "dev") == 0


def test_people_get_a_table_and_the_next_step(infra: Infra) -> None:
    infra("init", "--env", "dev")
    result = infra("plan", "--env", "dev")

    assert result.exit_code == 0, result.stderr
    assert "terraform_data" in result.stdout
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in result.stdout
    assert "paysim infra up --env dev" in result.stdout
    assert "terraform plan (dev)" in result.stderr


def test_the_global_env_and_the_terraform_root_setting_work_too(
    cli: Callable[..., Result], root: Path
) -> None:
    environ = {"PAYSIM_TERRAFORM_ROOT": str(root)}
    assert cli("--env", "dev", "infra", "init", env=environ).exit_code == 0

    plan = json_data(cli("--env", "dev", "infra", "plan", "--json", env=environ))

    assert plan["env"] == "dev"


def test_output_and_down_for_people(infra: Infra) -> None:
    infra("init", "--env", "dev")
    infra("plan", "--env", "dev")
    infra("up", "--env", "dev", "--yes")

    written = infra("output", "--env", "dev")
    assert written.exit_code == 0, written.stderr
    assert "eventhub_namespace" in written.stdout
    assert "evhns-paysim-dev-weu.servicebus.windows.net" in written.stdout
    assert "written:" in written.stdout

    destroyed = infra("down", "--env", "dev", "--yes")
    assert destroyed.exit_code == 0, destroyed.stderr
    assert "destroyed dev: 3 resources" in destroyed.stdout
    assert "removed the connection profile" in destroyed.stdout


def test_up_asks_first_and_applies_nothing_without_a_yes(infra: Infra, root: Path) -> None:
    infra("init", "--env", "dev")
    infra("plan", "--env", "dev")

    # Nobody at a terminal to ask (CI): refused, naming what it would do. tests/e2e answers a prompt.
    declined = infra("up", "--env", "dev", input="y\n")
    assert declined.exit_code == ExitCode.ABORTED
    assert declined.stderr.startswith("error [confirmation_required]: `paysim infra up` changes the ")
    assert "3 to add" in declined.stderr
    assert _state_resources(root, "dev") == 0
    assert infra("up", "--env", "dev", "--json").exit_code == ExitCode.ABORTED

    accepted = infra("up", "--env", "dev", "--yes")
    assert accepted.exit_code == 0, accepted.stderr
    assert "applied to dev: 3 added" in accepted.stdout
    assert _state_resources(root, "dev") == 3


def test_up_needs_a_saved_plan(infra: Infra) -> None:
    infra("init", "--env", "dev")
    error = json_error(infra("up", "--env", "dev", "--yes", "--json"), ExitCode.CONFLICT)

    assert error["code"] == "no_saved_plan"
    assert error["hint"] == "run `paysim infra plan --env dev` first, and review it"


def test_up_refuses_a_plan_made_before_the_configuration_changed(infra: Infra, root: Path) -> None:
    infra("init", "--env", "dev")
    infra("plan", "--env", "dev")
    with (root / "modules" / "stack" / "main.tf").open("a", encoding="utf-8") as module:
        module.write('\nresource "terraform_data" "extra" {}\n')

    error = json_error(infra("up", "--env", "dev", "--yes", "--json"), ExitCode.CONFLICT)

    assert error["code"] == "stale_plan"
    assert "configuration changed" in error["message"]
    assert _state_resources(root, "dev") == 0


def test_up_refuses_a_plan_terraform_finds_stale(infra: Infra, state_dir: Path) -> None:
    infra("init", "--env", "dev")
    infra("plan", "--env", "dev")
    saved = state_dir / "infra" / "dev"
    kept = shutil.copytree(saved, state_dir / "kept")
    infra("up", "--env", "dev", "--yes")
    shutil.copytree(kept, saved, dirs_exist_ok=True)  # the same plan, but the state moved on

    error = json_error(infra("up", "--env", "dev", "--yes", "--json"), ExitCode.CONFLICT)

    assert error["code"] == "stale_plan"
    assert "state changed" in error["message"]


def test_down_needs_yes(infra: Infra) -> None:
    error = json_error(infra("down", "--env", "dev", "--json"), ExitCode.ABORTED)

    assert (error["code"], error["hint"]) == ("confirmation_required", "add --yes to confirm")


def test_production_needs_an_extra_flag_to_go_down(infra: Infra, root: Path) -> None:
    infra("init", "--env", "production")
    infra("plan", "--env", "production")
    infra("up", "--env", "production", "--yes")

    error = json_error(infra("down", "--env", "production", "--yes", "--json"), ExitCode.ABORTED)
    assert error["code"] == "production_protected"
    assert "--destroy-production" in error["hint"]
    assert _state_resources(root, "production") == 3

    destroyed = json_data(infra("down", "--env", "production", "--yes", "--destroy-production", "--json"))
    assert destroyed["destroyed"] == 3


def test_output_before_anything_was_applied(infra: Infra) -> None:
    infra("init", "--env", "dev")
    error = json_error(infra("output", "--env", "dev", "--json"), ExitCode.CONFLICT)

    assert error["code"] == "not_applied"


def test_unknown_environment(infra: Infra) -> None:
    error = json_error(infra("plan", "--env", "qa", "--json"), ExitCode.CONFIG)

    assert error["code"] == "unknown_environment"
    assert error["hint"] == "choose one of: broken, dev, production, unauthenticated (--env ENV)"


def test_not_a_terraform_root(cli: Callable[..., Result], tmp_path: Path) -> None:
    error = json_error(
        cli("infra", "plan", "--env", "dev", "--root", str(tmp_path), "--json"), ExitCode.CONFIG
    )

    assert error["code"] == "terraform_root_not_found"


def test_no_terraform_binary(infra: Infra, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    error = json_error(infra("init", "--env", "dev", "--json"), ExitCode.UNAVAILABLE)

    assert error["code"] == "terraform_not_found"


def test_not_initialised(infra: Infra) -> None:
    error = json_error(infra("plan", "--env", "dev", "--json"), ExitCode.CONFIG)

    assert (error["code"], error["hint"]) == ("not_initialized", "run `paysim infra init --env dev`")


def test_not_logged_in_to_azure(infra: Infra) -> None:
    infra("init", "--env", "unauthenticated")

    result = infra("plan", "--env", "unauthenticated")

    assert result.exit_code == ExitCode.AUTH
    assert result.stderr.splitlines()[-2:] == [
        "error [not_logged_in]: terraform plan could not authenticate to Azure",
        "hint: run `az login` (and `az account set --subscription ID`), or set ARM_CLIENT_ID, ARM_TENANT_ID "
        "and ARM_SUBSCRIPTION_ID for a service principal",
    ]


@pytest.fixture
def held_state_lock(root: Path) -> Iterator[str]:
    """Hold the dev state's lock as a crashed or concurrent terraform would: the file lock and its info."""
    env_dir = root / "environments" / "dev"
    lock_id = "5b2f7a1c-0000-4000-8000-000000000001"
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": "ci@runner", "Version": "1.11.4",
            "Created": "2026-01-01T00:00:00Z", "Path": "terraform.tfstate", "Info": ""}  # fmt: skip
    (env_dir / ".terraform.tfstate.lock.info").write_text(json.dumps(info), encoding="utf-8")
    with (env_dir / "terraform.tfstate").open("r+", encoding="utf-8") as state:
        fcntl.lockf(state, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield lock_id
        fcntl.lockf(state, fcntl.LOCK_UN)


def test_state_locked(infra: Infra, root: Path, request: pytest.FixtureRequest) -> None:
    infra("init", "--env", "dev")
    infra("plan", "--env", "dev")
    infra("up", "--env", "dev", "--yes")
    lock_id = request.getfixturevalue("held_state_lock")

    error = json_error(infra("plan", "--env", "dev", "--json"), ExitCode.CONFLICT)

    assert error["code"] == "state_locked"
    assert error["message"] == "the dev state is locked by ci@runner"
    assert f"terraform force-unlock {lock_id}" in error["hint"]


def test_a_failed_command_reports_terraform_error_with_secrets_masked(infra: Infra) -> None:
    infra("init", "--env", "broken")

    result = infra("plan", "--env", "broken", "--json")

    error = json_error(result, ExitCode.EXTERNAL)
    assert error["code"] == "terraform_failed"
    assert error["message"] == (
        "terraform plan failed (exit 1): Error: Resource precondition failed: "
        "cannot reach postgresql://admin:****@db.example.com:5432/paysim: connection refused."
    )
    assert "hunter2" not in result.stdout + result.stderr

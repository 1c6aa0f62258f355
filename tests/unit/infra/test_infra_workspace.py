"""Finding an environment's Terraform root, and fingerprinting the configuration a plan was made from."""

from __future__ import annotations

from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.infra.workspace import configuration_digest, resolve_workspace
from paysim_cli.settings import Settings


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for env in ("dev", "production"):
        (tmp_path / "tf" / "environments" / env).mkdir(parents=True)
        (tmp_path / "tf" / "environments" / env / "main.tf").write_text(f'locals {{ env = "{env}" }}\n')
    (tmp_path / "tf" / "modules" / "stack").mkdir(parents=True)
    (tmp_path / "tf" / "modules" / "stack" / "main.tf").write_text("locals {}\n")
    return tmp_path / "tf"


def _settings(root: Path, env: str, state_dir: Path) -> Settings:
    return Settings(env=env, terraform_root=root, state_dir=state_dir)


def test_paths_of_an_environment(root: Path, tmp_path: Path) -> None:
    workspace = resolve_workspace(_settings(root, "production", tmp_path / "state"))

    assert workspace.env_dir == root.resolve() / "environments" / "production"
    assert workspace.plan_path == (tmp_path / "state" / "infra" / "production" / "plan.tfplan").resolve()
    assert workspace.profile_path == (tmp_path / "state" / "environments" / "production.json").resolve()
    assert workspace.backend_config is None
    assert workspace.protected


def test_unknown_environment_lists_the_known_ones(root: Path, tmp_path: Path) -> None:
    with pytest.raises(PaysimError) as raised:
        resolve_workspace(_settings(root, "local", tmp_path))

    assert (raised.value.code, raised.value.exit_code) == ("unknown_environment", ExitCode.CONFIG)
    assert raised.value.hint == "choose one of: dev, production (--env ENV)"


def test_a_directory_without_environments_is_not_a_root(tmp_path: Path) -> None:
    with pytest.raises(PaysimError) as raised:
        resolve_workspace(_settings(tmp_path, "dev", tmp_path))

    assert raised.value.code == "terraform_root_not_found"


def test_digest_follows_the_environment_and_modules_only(root: Path, tmp_path: Path) -> None:
    workspace = resolve_workspace(_settings(root, "dev", tmp_path))
    before = configuration_digest(workspace)

    (workspace.env_dir / "terraform.tfstate").write_text("{}")
    (workspace.env_dir / ".terraform" / "modules").mkdir(parents=True)
    (workspace.env_dir / ".terraform" / "modules" / "modules.json").write_text("{}")
    (root / "environments" / "production" / "main.tf").write_text("# another environment\n")
    assert configuration_digest(workspace) == before

    (root / "modules" / "stack" / "main.tf").write_text("locals { changed = true }\n")
    assert configuration_digest(workspace) != before

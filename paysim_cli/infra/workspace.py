"""Where an environment's Terraform root, saved plan and connection profile live."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings, connection_profile_path

# Environments whose destruction needs a second, explicit flag.
PROTECTED_ENVIRONMENTS = frozenset({"production"})
# What Terraform reads as configuration; state files and the .terraform cache are not configuration.
_CONFIGURATION_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json", ".hcl")


@dataclass(frozen=True)
class Workspace:
    """One environment of one Terraform root, and the files paysim keeps for it."""

    env: str
    root: Path
    env_dir: Path
    state_dir: Path
    profile_path: Path

    @property
    def plan_path(self) -> Path:
        return self.state_dir / "plan.tfplan"

    @property
    def plan_record_path(self) -> Path:
        """What the plan was made from, for the staleness check before `up`."""
        return self.state_dir / "plan.json"

    @property
    def backend_config(self) -> Path | None:
        """The partial backend configuration beside the root, if the environment has one."""
        path = self.env_dir / "backend.hcl"
        return path if path.is_file() else None

    @property
    def protected(self) -> bool:
        return self.env in PROTECTED_ENVIRONMENTS


def resolve_workspace(settings: Settings) -> Workspace:
    """The workspace for `settings.env` under `settings.terraform_root`, or a clear error."""
    root = settings.terraform_root.expanduser().resolve()
    environments = root / "environments"
    if not environments.is_dir():
        raise PaysimError(
            "terraform_root_not_found",
            f"{root} is not a paysim Terraform root: it has no environments/ directory",
            "point --root (or the terraform_root setting) at the directory with modules/ and environments/",
            exit_code=ExitCode.CONFIG,
        )
    env_dir = environments / settings.env
    if not env_dir.is_dir():
        known = sorted(path.name for path in environments.iterdir() if path.is_dir())
        raise PaysimError(
            "unknown_environment",
            f"no Terraform environment {settings.env!r} under {environments}",
            f"choose one of: {', '.join(known) or '(none)'} (--env ENV)",
            exit_code=ExitCode.CONFIG,
        )
    state_dir = settings.state_dir.expanduser().resolve()
    return Workspace(
        env=settings.env,
        root=root,
        env_dir=env_dir,
        state_dir=state_dir / "infra" / settings.env,
        profile_path=connection_profile_path(state_dir, settings.env),
    )


def configuration_digest(workspace: Workspace) -> str:
    """A hash of every configuration file the environment's plan depends on: its root and the modules."""
    digest = hashlib.sha256()
    for directory in (workspace.env_dir, workspace.root / "modules"):
        for path in sorted(_configuration_files(directory)):
            digest.update(str(path.relative_to(workspace.root)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def _configuration_files(directory: Path) -> list[Path]:
    return [
        path
        for path in directory.rglob("*")
        if path.is_file()
        and path.name.endswith(_CONFIGURATION_SUFFIXES)
        and ".terraform" not in path.relative_to(directory).parts
    ]

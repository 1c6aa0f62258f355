"""The connection profile: an environment's endpoints and names, keyed by setting, never a secret."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.secrets import mask_secrets
from paysim_cli.settings import SECRET_FIELDS, Settings

PROFILE_OUTPUT = "connection_profile"
# Settings that describe this machine, not the environment: a profile never sets them.
_LOCAL_FIELDS = frozenset({"env", "state_dir", "terraform_root"})
# Secret fields a profile may carry only without their secret part (a database URL with no password).
_MASKABLE_FIELDS = frozenset({"database_url"})


def connection_profile(env: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The profile from `terraform output -json`: the `connection_profile` output, checked."""
    if not outputs:
        raise PaysimError(
            "not_applied",
            f"the {env} environment has no Terraform outputs yet",
            f"run `paysim infra plan --env {env}` and `paysim infra up --env {env}` first",
            exit_code=ExitCode.CONFLICT,
        )
    output = outputs.get(PROFILE_OUTPUT)
    if not isinstance(output, Mapping) or not isinstance(output.get("value"), Mapping):
        raise _invalid(env, f"the root has no object output named {PROFILE_OUTPUT!r}")
    if output.get("sensitive"):
        raise _invalid(env, f"output {PROFILE_OUTPUT!r} is sensitive, so it may hold a secret")
    profile = dict(output["value"])
    allowed = set(Settings.model_fields) - _LOCAL_FIELDS - (SECRET_FIELDS - _MASKABLE_FIELDS)
    unknown = sorted(set(profile) - allowed)
    if unknown:
        raise _invalid(env, f"{', '.join(unknown)} is not a setting a profile may set")
    secrets = sorted(key for key, value in profile.items() if mask_secrets(str(value)) != str(value))
    if secrets:
        raise _invalid(env, f"{', '.join(secrets)} carries a secret")
    try:
        Settings.model_validate(profile | {"env": env})
    except ValidationError as error:
        raise _invalid(env, str(error.errors()[0]["msg"])) from error
    return profile


def write_profile(path: Path, profile: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(dict(profile), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def _invalid(env: str, reason: str) -> PaysimError:
    return PaysimError(
        "invalid_connection_profile",
        f"the {env} Terraform root's connection profile is unusable: {reason}",
        f"output {PROFILE_OUTPUT!r} must be an object of paysim settings with endpoints and names only",
        exit_code=ExitCode.CONFIG,
    )

"""Settings, resolved once per invocation: flag > PAYSIM_* env var > paysim.toml [env.NAME] >
connection profile written by `paysim infra output` > local stack state > defaults."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from paysim_cli.errors import ExitCode, PaysimError

ENV_PREFIX = "PAYSIM_"
DEFAULT_CONFIG_FILE = Path("paysim.toml")
LOCAL_ENV = "local"
# Environments where destroying resources or dropping tables needs a second, explicit flag.
PROTECTED_ENVIRONMENTS = frozenset({"production"})
logger = logging.getLogger(__name__)
SECRET_FIELDS = frozenset({"database_url", "blob_connection_string", "eventhub_connection_string"})


class HealthThresholds(BaseModel):
    """What `paysim health` calls warn and fail, per environment (`[env.NAME.health]` in paysim.toml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lag_warn: int = Field(10_000, ge=0, description="events behind, summed over partitions")
    lag_fail: int = Field(100_000, ge=0)
    freshness_warn_seconds: float = Field(30.0, ge=0, description="how long the oldest waiting event waited")
    freshness_fail_seconds: float = Field(120.0, ge=0)
    dead_letter_pending_warn: int = Field(100, ge=0, description="failed items waiting for triage")
    dead_letter_pending_fail: int = Field(10_000, ge=0)
    dead_letter_rate_warn: float = Field(10.0, ge=0, description="new failed items per minute")
    dead_letter_rate_fail: float = Field(100.0, ge=0)
    dead_letter_window_minutes: float = Field(5.0, gt=0, description="window the rate is measured over")
    connections_warn_percent: float = Field(80.0, ge=0, le=100, description="of max_connections in use")
    connections_fail_percent: float = Field(95.0, ge=0, le=100)
    canary_warn_seconds: float = Field(5.0, gt=0, description="a canary's publish-to-commit time")
    canary_timeout_seconds: float = Field(30.0, gt=0, description="a canary not committed by then fails")
    worker_stale_seconds: float = Field(
        3.0, gt=0, description="a local worker whose leases were not renewed for longer is stale"
    )
    lag_sample_seconds: float = Field(
        0.1, ge=0, le=10, description="between the two lag samples (the trend's window)"
    )
    check_timeout_seconds: float = Field(5.0, gt=0, description="a check still running then is unknown")


class Settings(BaseModel):
    """Everything a command needs to find the pipeline's parts. Immutable once resolved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str = Field(LOCAL_ENV, description="environment name: local, dev, staging, production, ...")
    state_dir: Path = Field(Path(".paysim"), description="local state: stack data, manifests, profiles")
    database_url: str | None = Field(None, description="PostgreSQL URL; the local stack's when unset")
    database_auth: Literal["password", "entra"] = Field(
        "password", description="password in the URL, or an Entra ID token from azure-identity"
    )
    blob_connection_string: str | None = Field(None, description="Storage connection string")
    blob_account_url: str | None = Field(None, description="Storage account URL, used with Entra ID")
    raw_events_container: str = Field("raw-events", description="container for raw event batches")
    eventhub_connection_string: str | None = Field(None, description="Event Hubs connection string")
    eventhub_namespace: str | None = Field(None, description="fully qualified Event Hubs namespace")
    eventhub_name: str = Field("payments", description="event hub name")
    consumer_group: str = Field("$Default", description="consumer group the pipeline reads with")
    hub_partitions: int = Field(4, ge=1, le=1024, description="partitions of the local event log")
    postgres_port: int = Field(0, ge=0, le=65535, description="local PostgreSQL port; 0 picks a free one")
    azurite_port: int = Field(0, ge=0, le=65535, description="local Azurite blob port; 0 picks a free one")
    amqp_port: int = Field(5672, ge=0, le=65535, description="local Event Hubs AMQP endpoint port")
    terraform_root: Path = Field(Path("terraform"), description="Terraform tree (modules, environments)")
    subscription_id: str | None = Field(None, description="Azure subscription of the environment")
    resource_group: str | None = Field(None, description="resource group that holds the environment")
    function_app_name: str | None = Field(None, description="Function App that runs the pipeline")
    arm_endpoint: str = Field("https://management.azure.com", description="Azure Resource Manager endpoint")
    kudu_endpoint: str | None = Field(
        None, description="the Function App's Kudu (SCM) site; read from the app through ARM when unset"
    )
    releases_container: str = Field(
        "function-releases", description="container of the releases store (`paysim function releases`)"
    )
    health: HealthThresholds = Field(
        default_factory=HealthThresholds, description="`paysim health` thresholds ([env.NAME.health])"
    )

    _sources: dict[str, str] = PrivateAttr(default_factory=dict)
    _config_environments: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @property
    def sources(self) -> Mapping[str, str]:
        """Where each field's value came from: flag, env PAYSIM_X, paysim.toml, ..., default."""
        return self._sources

    @property
    def is_local(self) -> bool:
        return self.env == LOCAL_ENV

    @property
    def is_protected(self) -> bool:
        return self.env in PROTECTED_ENVIRONMENTS

    def command(self, rest: str) -> str:
        """`paysim REST` as typed for this environment, for hints: `paysim --env dev db migrate`."""
        return f"paysim {rest}" if self.is_local else f"paysim --env {self.env} {rest}"

    def known_environments(self) -> list[str]:
        """Every environment paysim can act on: local, the [env.NAME] tables of the settings file, the
        Terraform root's environments, and those `paysim infra output` wrote a connection profile for."""
        known = {LOCAL_ENV, *self._config_environments}
        terraform_environments = self.terraform_root / "environments"
        if terraform_environments.is_dir():
            known.update(path.name for path in terraform_environments.iterdir() if path.is_dir())
        profiles = connection_profile_path(self.state_dir, LOCAL_ENV).parent
        if profiles.is_dir():
            known.update(path.stem for path in profiles.glob("*.json"))
        return sorted(known)

    def require_known_environment(self) -> None:
        """A typo (`--env prod`) must not act on an empty, made-up environment."""
        known = self.known_environments()
        if self.env not in known:
            raise PaysimError(
                "unknown_environment",
                f"unknown environment {self.env!r}: it is not local, a [env.{self.env}] table of the "
                "settings file, a Terraform environment or a written connection profile",
                f"known environments: {', '.join(known)} (--env NAME or PAYSIM_ENV)",
                exit_code=ExitCode.CONFIG,
            )

    @property
    def event_log_path(self) -> Path:
        """The local event log's SQLite file."""
        return self.state_dir / "hub" / "events.db"

    def override(self, source: str = "flag", **values: Any) -> Settings:
        """A copy with command-level flags applied (None means 'not given')."""
        given = {key: value for key, value in values.items() if value is not None}
        if not given:
            return self
        merged = self.model_dump() | given
        updated = _validate(merged, {key: source for key in given})
        updated._sources = dict(self._sources) | {key: source for key in given}
        updated._config_environments = self._config_environments
        return updated


def resolve_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve settings once, recording where every value came from."""
    flags = {key: value for key, value in (flags or {}).items() if value is not None}
    environ = os.environ if environ is None else environ
    env_values = _from_environ(environ)
    config_path = config_file or Path(environ.get(f"{ENV_PREFIX}CONFIG", DEFAULT_CONFIG_FILE))
    env_name = str(flags.get("env") or env_values.get("env") or LOCAL_ENV)
    tables = _config_tables(config_path, explicit=config_file is not None)
    file_values = _config_table(config_path, tables, env_name)

    layers: list[tuple[str, dict[str, Any]]] = [
        ("flag", flags),
        (f"env {ENV_PREFIX}*", env_values),
        (f"{config_path} [env.{env_name}]", file_values),
    ]
    state_dir = Path(_first("state_dir", layers) or Settings.model_fields["state_dir"].default)
    profile_path = connection_profile_path(state_dir, env_name)
    layers.append((str(profile_path), _from_profile(profile_path)))
    if env_name == LOCAL_ENV:
        from paysim_cli.local.state import local_stack_settings

        layers.append(("local stack", local_stack_settings(state_dir)))

    merged: dict[str, Any] = {"env": env_name}
    sources: dict[str, str] = {"env": _source_of("env", layers) or "default"}
    for name in Settings.model_fields:
        for source, values in layers:
            if name in values:
                merged[name] = values[name]
                sources[name] = _label(source, name)
                break
        else:
            sources.setdefault(name, "default")
    settings = _validate(merged, sources)
    settings._sources = sources
    settings._config_environments = frozenset(tables)
    settings.require_known_environment()
    logger.info("environment %s (from %s); state in %s", env_name, sources["env"], settings.state_dir)
    for name, source in sources.items():
        if source != "default":
            logger.debug("setting %s from %s", name, source)
    return settings


def connection_profile_path(state_dir: Path, env_name: str) -> Path:
    """Where `paysim infra output` writes the endpoints of an environment."""
    return state_dir / "environments" / f"{env_name}.json"


def _label(source: str, name: str) -> str:
    return f"env {ENV_PREFIX}{name.upper()}" if source.startswith("env ") else source


def _first(name: str, layers: list[tuple[str, dict[str, Any]]]) -> Any:
    return next((values[name] for _, values in layers if name in values), None)


def _source_of(name: str, layers: list[tuple[str, dict[str, Any]]]) -> str | None:
    return next((_label(source, name) for source, values in layers if name in values), None)


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """PAYSIM_<FIELD> variables; an empty one counts as unset, as shells and CI systems mean it."""
    return {
        name: environ[f"{ENV_PREFIX}{name.upper()}"]
        for name in Settings.model_fields
        if environ.get(f"{ENV_PREFIX}{name.upper()}")
    }


def _config_tables(path: Path, *, explicit: bool) -> dict[str, Any]:
    """The settings file's [env.NAME] tables by name; none when there is no file (unless one was named)."""
    if not path.exists():
        if explicit:
            raise PaysimError(
                "config_not_found",
                f"config file {path} does not exist",
                "create it from paysim.example.toml, or drop --config",
                exit_code=ExitCode.CONFIG,
            )
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PaysimError(
            "invalid_config",
            f"{path} is not valid TOML: {error}",
            "fix the syntax; paysim.example.toml shows the layout",
            exit_code=ExitCode.CONFIG,
        ) from error
    tables = document.get("env", {})
    if not isinstance(tables, dict):
        raise PaysimError(
            "invalid_config",
            f"{path}: env must be a table of [env.NAME] tables",
            "write each environment as a [env.NAME] section with key = value lines",
            exit_code=ExitCode.CONFIG,
        )
    return tables


def _config_table(path: Path, tables: dict[str, Any], env_name: str) -> dict[str, Any]:
    table = tables.get(env_name, {})
    if not isinstance(table, dict):
        raise PaysimError(
            "invalid_config",
            f"{path}: [env.{env_name}] must be a table",
            "write it as a [env.NAME] section with key = value lines",
            exit_code=ExitCode.CONFIG,
        )
    unknown = sorted(set(table) - set(Settings.model_fields))
    if unknown:
        raise PaysimError(
            "invalid_config",
            f"{path} [env.{env_name}]: unknown setting {', '.join(unknown)}",
            f"valid settings: {', '.join(Settings.model_fields)}",
            exit_code=ExitCode.CONFIG,
        )
    return dict(table)


def _from_profile(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        profile = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise PaysimError(
            "invalid_connection_profile",
            f"connection profile {path} is not valid JSON: {error}",
            "run `paysim infra output --env ENV` again to rewrite it",
            exit_code=ExitCode.CONFIG,
        ) from error
    return {key: value for key, value in profile.items() if key in Settings.model_fields}


def _validate(values: dict[str, Any], sources: Mapping[str, str]) -> Settings:
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        raise PaysimError(
            "invalid_setting",
            f"setting {field} (from {sources.get(field, 'default')}): {first['msg']}",
            "fix the value where it is set; `paysim config show` lists every setting and its source",
            exit_code=ExitCode.CONFIG,
        ) from error

"""The state directory `paysim local up` keeps: what runs where (so other commands find it unconfigured),
and the local stack's secrets, readable by their owner alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

STATE_FILE = "stack.json"
SECRETS_DIR = "secrets"
POSTGRES_PASSWORD_FILE = "postgres_password"
AMQP_SAS_KEY_FILE = "amqp_sas_key"
PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
# With a group that must reach a service's data inside (the PostgreSQL service user under root): enter only.
TRAVERSABLE_DIRECTORY = 0o710
AZURITE_ACCOUNT = "devstoreaccount1"
# What the emulator's documented connection strings carry: any key is accepted without --sas-key-name.
EMULATOR_PLACEHOLDER_KEY = "SAS_KEY_VALUE"
# The policy name the stack's AMQP endpoint checks tokens against (Event Hubs' default policy).
AMQP_SAS_KEY_NAME = "RootManageSharedAccessKey"
# Azurite's documented, public development key: not a secret.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class ProcessState(BaseModel):
    pid: int
    port: int


class EndpointState(ProcessState):
    """The Event Hubs AMQP endpoint: where it listens and the hub name it serves the local log as."""

    eventhub_name: str


class StackState(BaseModel):
    """Recorded by `local up`, cleared part by part by `local down`."""

    postgres: ProcessState | None = None
    azurite: ProcessState | None = None
    hub_partitions: int | None = None
    amqp: EndpointState | None = None


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def load_state(state_dir: Path) -> StackState:
    path = state_path(state_dir)
    if not path.exists():
        return StackState()
    try:
        return StackState.model_validate_json(path.read_bytes())
    except ValueError:
        # A torn or hand-edited file: treat the stack as not recorded; `local up` rewrites it.
        return StackState()


def save_state(state_dir: Path, state: StackState) -> None:
    path = state_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    temporary.chmod(PRIVATE_FILE)
    os.replace(temporary, path)


def secure_state_dir(state_dir: Path, *, traverse_group: int | None = None) -> None:
    """Make the state directory its owner's alone (0700), its secrets too (0700 directory, 0600 files).

    With `traverse_group`, that group may enter the directory but not list it (0710): the service user
    PostgreSQL runs as under root must reach its data directory inside.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    if traverse_group is None:
        state_dir.chmod(PRIVATE_DIRECTORY)
    else:
        os.chown(state_dir, -1, traverse_group)
        state_dir.chmod(TRAVERSABLE_DIRECTORY)
    secrets = state_dir / SECRETS_DIR
    if secrets.is_dir():
        secrets.chmod(PRIVATE_DIRECTORY)
        for secret in secrets.iterdir():
            secret.chmod(PRIVATE_FILE)
    if state_path(state_dir).exists():
        state_path(state_dir).chmod(PRIVATE_FILE)


def postgres_password(state_dir: Path) -> str | None:
    """The local PostgreSQL's password, None before `local up` generated one."""
    return _secret(state_dir, POSTGRES_PASSWORD_FILE)


def ensure_postgres_password(state_dir: Path) -> str:
    """The local PostgreSQL's password, generated (and kept, mode 0600) the first time."""
    return _ensure_secret(state_dir, POSTGRES_PASSWORD_FILE)


def amqp_sas_key(state_dir: Path) -> str | None:
    """The AMQP endpoint's shared access key, None before `local up` generated one."""
    return _secret(state_dir, AMQP_SAS_KEY_FILE)


def ensure_amqp_sas_key(state_dir: Path) -> str:
    """The AMQP endpoint's shared access key, generated (and kept, mode 0600) the first time: the stack's
    endpoint refuses a token signed with any other key, as Event Hubs does."""
    return _ensure_secret(state_dir, AMQP_SAS_KEY_FILE)


def _secret(state_dir: Path, name: str) -> str | None:
    try:
        return (state_dir / SECRETS_DIR / name).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _ensure_secret(state_dir: Path, name: str) -> str:
    existing = _secret(state_dir, name)
    if existing:
        return existing
    import secrets

    directory = state_dir / SECRETS_DIR
    directory.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    directory.chmod(PRIVATE_DIRECTORY)
    # URL-safe: it goes into postgresql:// URLs and connection strings as it is.
    value = secrets.token_urlsafe(24)
    path = directory / name
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    # Created 0600, never readable by anyone else for a moment.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    os.replace(temporary, path)
    return value


def postgres_url(port: int, password: str | None, database: str = "paysim") -> str:
    """The local PostgreSQL's URL, as the superuser; without a password only for a stack not yet
    upgraded from trust authentication (`local up` does that)."""
    user = "postgres" if password is None else f"postgres:{password}"
    return f"postgresql://{user}@127.0.0.1:{port}/{database}"


def azurite_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


def eventhub_connection_string(port: int, eventhub_name: str, key: str | None) -> str:
    """What the SDK needs to reach the stack's AMQP endpoint (plain AMQP, no TLS, as the Event Hubs
    emulator): signed with the stack's key; without one (a stack from before keys, or an endpoint
    started by hand without --sas-key-name) the emulator's placeholder, which such an endpoint accepts."""
    return (
        f"Endpoint=sb://localhost:{port};SharedAccessKeyName={AMQP_SAS_KEY_NAME};"
        f"SharedAccessKey={key or EMULATOR_PLACEHOLDER_KEY};UseDevelopmentEmulator=true;"
        f"EntityPath={eventhub_name}"
    )


def local_stack_settings(state_dir: Path) -> dict[str, Any]:
    """Settings the running local stack provides, for `--env local` with nothing configured."""
    state = load_state(state_dir)
    values: dict[str, Any] = {}
    if state.postgres is not None:
        values["database_url"] = postgres_url(state.postgres.port, postgres_password(state_dir))
        values["postgres_port"] = state.postgres.port
    if state.azurite is not None:
        values["blob_connection_string"] = azurite_connection_string(state.azurite.port)
        values["azurite_port"] = state.azurite.port
    if state.hub_partitions is not None:
        values["hub_partitions"] = state.hub_partitions
    if state.amqp is not None:
        values["amqp_port"] = state.amqp.port
        values["eventhub_connection_string"] = eventhub_connection_string(
            state.amqp.port, state.amqp.eventhub_name, amqp_sas_key(state_dir)
        )
    return values

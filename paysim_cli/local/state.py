"""The state file `paysim local up` writes: what runs where, so other commands find it unconfigured."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

STATE_FILE = "stack.json"
AZURITE_ACCOUNT = "devstoreaccount1"
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
    os.replace(temporary, path)


def postgres_url(port: int, database: str = "paysim") -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def azurite_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


def local_stack_settings(state_dir: Path) -> dict[str, Any]:
    """Settings the running local stack provides, for `--env local` with nothing configured."""
    state = load_state(state_dir)
    values: dict[str, Any] = {}
    if state.postgres is not None:
        values["database_url"] = postgres_url(state.postgres.port)
        values["postgres_port"] = state.postgres.port
    if state.azurite is not None:
        values["blob_connection_string"] = azurite_connection_string(state.azurite.port)
        values["azurite_port"] = state.azurite.port
    if state.hub_partitions is not None:
        values["hub_partitions"] = state.hub_partitions
    if state.amqp is not None:
        from paysim_cli.hub.amqp.process import emulator_connection_string

        values["amqp_port"] = state.amqp.port
        values["eventhub_connection_string"] = emulator_connection_string(
            state.amqp.port, state.amqp.eventhub_name
        )
    return values

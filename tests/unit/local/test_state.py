"""The state directory: the local PostgreSQL's password and the AMQP endpoint's key kept for their owner
alone, and the URLs and connection strings built from them."""

from __future__ import annotations

import stat
from pathlib import Path

from paysim_cli.local.state import (
    EndpointState,
    ProcessState,
    StackState,
    amqp_sas_key,
    ensure_amqp_sas_key,
    ensure_postgres_password,
    local_stack_settings,
    postgres_password,
    postgres_url,
    save_state,
    secure_state_dir,
)
from paysim_cli.secrets import mask_secrets


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_password_is_generated_once_and_kept_0600(tmp_path: Path) -> None:
    assert postgres_password(tmp_path) is None
    password = ensure_postgres_password(tmp_path)
    assert len(password) >= 32
    assert password.replace("-", "").replace("_", "").isalnum()  # URL-safe as it is
    assert ensure_postgres_password(tmp_path) == password == postgres_password(tmp_path)
    kept = tmp_path / "secrets" / "postgres_password"
    assert (_mode(kept.parent), _mode(kept)) == (0o700, 0o600)
    assert ensure_postgres_password(tmp_path / "other") != password


def test_securing_tightens_what_was_left_open(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    ensure_postgres_password(state_dir)
    save_state(state_dir, StackState(hub_partitions=4))
    for path, mode in ((state_dir, 0o755), (state_dir / "secrets", 0o755), (state_dir / "stack.json", 0o644)):
        path.chmod(mode)
    (state_dir / "secrets" / "postgres_password").chmod(0o644)
    secure_state_dir(state_dir)
    assert [
        _mode(state_dir / name) for name in ("", "secrets", "secrets/postgres_password", "stack.json")
    ] == [
        0o700,
        0o700,
        0o600,
        0o600,
    ]


def test_the_local_stack_url_carries_the_password_and_is_masked(tmp_path: Path) -> None:
    save_state(tmp_path, StackState(postgres=ProcessState(pid=1, port=5999)))
    # A stack from before passwords (trust authentication) until `local up` upgrades it.
    assert local_stack_settings(tmp_path)["database_url"] == "postgresql://postgres@127.0.0.1:5999/paysim"
    password = ensure_postgres_password(tmp_path)
    url = local_stack_settings(tmp_path)["database_url"]
    assert url == postgres_url(5999, password) == f"postgresql://postgres:{password}@127.0.0.1:5999/paysim"
    assert mask_secrets(url) == "postgresql://postgres:****@127.0.0.1:5999/paysim"
    assert postgres_url(5999, password, "postgres").endswith("/postgres")


def test_the_amqp_key_is_generated_once_kept_0600_and_in_the_connection_string(tmp_path: Path) -> None:
    assert amqp_sas_key(tmp_path) is None
    key = ensure_amqp_sas_key(tmp_path)
    assert ensure_amqp_sas_key(tmp_path) == key == amqp_sas_key(tmp_path)
    assert key != ensure_postgres_password(tmp_path)
    assert _mode(tmp_path / "secrets" / "amqp_sas_key") == 0o600
    save_state(tmp_path, StackState(amqp=EndpointState(pid=1, port=5999, eventhub_name="payments")))
    connection_string = local_stack_settings(tmp_path)["eventhub_connection_string"]
    assert f"SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={key};" in connection_string
    assert connection_string.startswith("Endpoint=sb://localhost:5999;")
    assert key not in mask_secrets(connection_string)

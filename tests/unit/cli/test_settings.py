"""Settings precedence: flag > PAYSIM_* > paysim.toml [env.NAME] > connection profile > local stack >
default."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.local.state import ProcessState, StackState, save_state
from paysim_cli.settings import connection_profile_path, resolve_settings


def write_config(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    settings = resolve_settings({}, environ={}, config_file=None)
    assert settings.env == "local"
    assert settings.hub_partitions == 4
    assert settings.sources["hub_partitions"] == "default"
    assert settings.database_url is None


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "paysim.toml", "[env.local]\nhub_partitions = 6\neventhub_name = 'fromfile'\n"
    )
    environ = {"PAYSIM_HUB_PARTITIONS": "8", "PAYSIM_EVENTHUB_NAME": "fromenv"}
    settings = resolve_settings({"eventhub_name": "fromflag"}, environ=environ, config_file=config)
    assert settings.eventhub_name == "fromflag"
    assert settings.sources["eventhub_name"] == "flag"
    assert settings.hub_partitions == 8
    assert settings.sources["hub_partitions"] == "env PAYSIM_HUB_PARTITIONS"
    only_file = resolve_settings({}, environ={}, config_file=config)
    assert only_file.hub_partitions == 6
    assert only_file.sources["hub_partitions"] == f"{config} [env.local]"


def test_env_table_is_chosen_by_env_name(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "paysim.toml", "[env.local]\neventhub_name = 'a'\n[env.dev]\neventhub_name = 'b'\n"
    )
    assert resolve_settings({"env": "dev"}, environ={}, config_file=config).eventhub_name == "b"
    from_environ = resolve_settings({}, environ={"PAYSIM_ENV": "dev"}, config_file=config)
    assert from_environ.env == "dev"
    assert from_environ.sources["env"] == "env PAYSIM_ENV"


def test_config_file_from_paysim_config_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path / "other.toml", "[env.local]\nconsumer_group = 'cg'\n")
    settings = resolve_settings({}, environ={"PAYSIM_CONFIG": str(config)})
    assert settings.consumer_group == "cg"


def test_connection_profile_and_local_stack_layers(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    profile = connection_profile_path(state_dir, "dev")
    profile.parent.mkdir(parents=True)
    profile.write_bytes(orjson.dumps({"eventhub_namespace": "ns.servicebus.windows.net", "ignored": 1}))
    dev = resolve_settings({"env": "dev", "state_dir": state_dir}, environ={})
    assert dev.eventhub_namespace == "ns.servicebus.windows.net"
    assert dev.sources["eventhub_namespace"] == str(profile)

    save_state(state_dir, StackState(postgres=ProcessState(pid=1, port=5999), hub_partitions=3))
    local = resolve_settings({"state_dir": state_dir}, environ={})
    assert local.database_url == "postgresql://postgres@127.0.0.1:5999/paysim"
    assert local.sources["database_url"] == "local stack"
    assert local.hub_partitions == 3


def test_override_records_flag_source() -> None:
    settings = resolve_settings({}, environ={})
    overridden = settings.override(database_url="postgresql://u:p@h/db", consumer_group=None)
    assert overridden.database_url == "postgresql://u:p@h/db"
    assert overridden.sources["database_url"] == "flag"
    assert overridden.consumer_group == settings.consumer_group
    assert settings.override() is settings


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("[env.local\n", "invalid_config"),
        ("[env.local]\nnot_a_setting = 1\n", "invalid_config"),
        ("[env]\nlocal = 3\n", "invalid_config"),
        ("[env.local]\nhub_partitions = 0\n", "invalid_setting"),
    ],
)
def test_broken_config_is_a_config_error(tmp_path: Path, body: str, code: str) -> None:
    config = write_config(tmp_path / "paysim.toml", body)
    with pytest.raises(PaysimError) as raised:
        resolve_settings({}, environ={}, config_file=config)
    assert raised.value.code == code
    assert raised.value.exit_code == ExitCode.CONFIG
    assert raised.value.hint


def test_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PaysimError) as raised:
        resolve_settings({}, environ={}, config_file=tmp_path / "missing.toml")
    assert raised.value.code == "config_not_found"


def test_broken_connection_profile_is_an_error(tmp_path: Path) -> None:
    profile = connection_profile_path(tmp_path, "dev")
    profile.parent.mkdir(parents=True)
    profile.write_text("{not json", encoding="utf-8")
    with pytest.raises(PaysimError) as raised:
        resolve_settings({"env": "dev", "state_dir": tmp_path}, environ={})
    assert raised.value.code == "invalid_connection_profile"


def test_invalid_override_names_the_flag() -> None:
    settings = resolve_settings({}, environ={})
    with pytest.raises(PaysimError) as raised:
        settings.override(hub_partitions=0)
    assert "hub_partitions (from flag)" in raised.value.message


def test_an_empty_variable_counts_as_unset() -> None:
    settings = resolve_settings({}, environ={"PAYSIM_BLOB_CONNECTION_STRING": "", "PAYSIM_ENV": ""})
    assert settings.blob_connection_string is None
    assert settings.env == "local"
    assert settings.sources["blob_connection_string"] == "default"

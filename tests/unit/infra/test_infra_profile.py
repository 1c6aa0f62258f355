"""The connection profile: only endpoints and names, keyed by setting, readable by the settings resolver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.infra.profile import connection_profile, write_profile
from paysim_cli.settings import connection_profile_path, resolve_settings

PROFILE = {
    "eventhub_namespace": "evhns-paysim-dev-weu.servicebus.windows.net",
    "eventhub_name": "payments",
    "consumer_group": "pipeline",
    "database_url": "postgresql://paysim-db-admins@psql-paysim-dev-weu.postgres.database.azure.com:5432/paysim",
    "database_auth": "entra",
    "blob_account_url": "https://stpaysimdevweu.blob.core.windows.net/",
    "raw_events_container": "raw-events",
}


def _outputs(value: Any, *, sensitive: bool = False) -> dict[str, Any]:
    return {
        "connection_profile": {"value": value, "type": "object", "sensitive": sensitive},
        "function_app_name": {"value": "func-paysim-dev-weu", "type": "string", "sensitive": False},
    }


def test_the_profile_is_the_connection_profile_output() -> None:
    assert connection_profile("dev", _outputs(PROFILE)) == PROFILE


def test_no_outputs_means_the_environment_was_never_applied() -> None:
    with pytest.raises(PaysimError) as raised:
        connection_profile("dev", {})

    assert (raised.value.code, raised.value.exit_code) == ("not_applied", ExitCode.CONFLICT)


@pytest.mark.parametrize(
    ("outputs", "reason"),
    [
        ({"function_app_name": {"value": "func", "sensitive": False}}, "no object output"),
        (_outputs(PROFILE, sensitive=True), "is sensitive"),
        (_outputs(PROFILE | {"storage_account_name": "st"}), "storage_account_name is not a setting"),
        (_outputs(PROFILE | {"state_dir": "/tmp"}), "state_dir is not a setting"),
        (
            _outputs(PROFILE | {"blob_connection_string": "UseDevelopmentStorage=true"}),
            "blob_connection_string",
        ),
        (
            _outputs(PROFILE | {"database_url": "postgresql://admin:hunter2@db/paysim"}),
            "database_url carries a secret",
        ),
        (_outputs(PROFILE | {"hub_partitions": "many"}), "valid integer"),
    ],
)
def test_refuses_a_profile_that_is_not_endpoints_and_names(outputs: dict[str, Any], reason: str) -> None:
    with pytest.raises(PaysimError) as raised:
        connection_profile("dev", outputs)

    assert (raised.value.code, raised.value.exit_code) == ("invalid_connection_profile", ExitCode.CONFIG)
    assert reason in raised.value.message
    assert "hunter2" not in raised.value.message


def test_settings_read_the_written_profile_for_the_environment(tmp_path: Path) -> None:
    write_profile(connection_profile_path(tmp_path, "dev"), PROFILE)

    settings = resolve_settings({"env": "dev", "state_dir": tmp_path}, environ={})

    assert settings.eventhub_namespace == PROFILE["eventhub_namespace"]
    assert settings.database_auth == "entra"
    assert settings.sources["blob_account_url"].endswith("dev.json")

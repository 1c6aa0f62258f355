"""Connection parameters from Settings (paysim_cli/db.py): TLS for Azure hosts, Entra ID tokens."""

from __future__ import annotations

import pytest

from paysim_cli.db import ENTRA_SCOPE, connection_params
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

AZURE = "postgresql://paysim_admin:pw@psql-paysim-dev.postgres.database.azure.com:5432/paysim"


def params(url: str | None, **values: object) -> dict[str, object]:
    return connection_params(Settings(database_url=url, **values))


def test_remote_hosts_get_sslmode_require_unless_the_url_says_otherwise() -> None:
    assert params(AZURE)["sslmode"] == "require"
    assert params(AZURE + "?sslmode=verify-full")["sslmode"] == "verify-full"
    assert params("postgresql://postgres@127.0.0.1:5432/paysim").get("sslmode") is None
    assert params("host=/var/run/postgresql dbname=paysim").get("sslmode") is None
    assert params("postgresql://u@localhost,db.example.com/paysim")["sslmode"] == "require"


def test_defaults_fill_only_what_the_url_leaves_out() -> None:
    assert params(AZURE)["connect_timeout"] == 10
    assert params(AZURE + "?connect_timeout=3&application_name=ci")["connect_timeout"] == "3"
    assert params(AZURE)["application_name"] == "paysim"


def test_entra_auth_uses_a_token_for_the_postgresql_scope_as_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scopes: list[str] = []

    class Token:
        token = "eyJ0eXAiOi.token"

    class Credential:  # Entra ID is not reachable here; this stands in for DefaultAzureCredential
        def get_token(self, scope: str) -> Token:
            scopes.append(scope)
            return Token()

    monkeypatch.setattr("azure.identity.DefaultAzureCredential", Credential)
    assert params(AZURE, database_auth="entra")["password"] == "eyJ0eXAiOi.token"
    assert scopes == [ENTRA_SCOPE]
    assert params(AZURE)["password"] == "pw"


def test_an_unparsable_url_is_a_config_error_with_the_password_masked() -> None:
    with pytest.raises(PaysimError) as raised:
        params("not a url password=hunter2")
    assert (raised.value.code, raised.value.exit_code) == ("invalid_database_url", ExitCode.CONFIG)
    assert "hunter2" not in raised.value.message


def test_no_url_is_database_not_configured() -> None:
    with pytest.raises(PaysimError) as raised:
        params(None)
    # Locally, no URL means the stack is down (exit 4); elsewhere the environment lacks one (exit 3).
    assert (raised.value.code, raised.value.exit_code) == ("database_not_configured", ExitCode.UNAVAILABLE)
    assert raised.value.hint == "run `paysim local up`, or pass --database-url"
    with pytest.raises(PaysimError) as raised:
        connection_params(Settings(env="dev"))
    assert (raised.value.code, raised.value.exit_code) == ("database_not_configured", ExitCode.CONFIG)
    assert "environment dev" in raised.value.message
    assert raised.value.hint is not None
    assert "paysim infra output --env dev" in raised.value.hint

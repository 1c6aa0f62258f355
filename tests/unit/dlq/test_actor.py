"""Who the audit trail names: the Entra identity a token carries, or the OS user."""

from __future__ import annotations

import base64
import getpass
import socket

import orjson
import pytest

from paysim_cli.dlq.actor import entra_actor, os_actor, token_claims
from paysim_cli.errors import ExitCode, PaysimError


def _token(claims: dict[str, object]) -> str:
    payload = base64.urlsafe_b64encode(orjson.dumps(claims)).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{payload}.signature"


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ({"upn": "ana@contoso.com", "oid": "1111"}, "ana@contoso.com (oid 1111)"),
        ({"preferred_username": "bo@contoso.com", "oid": "2222"}, "bo@contoso.com (oid 2222)"),
        ({"app_displayname": "paysim-ci", "oid": "3333"}, "paysim-ci (oid 3333)"),
        ({"oid": "4444"}, "oid 4444"),
        ({"upn": "cy@contoso.com"}, "cy@contoso.com"),
    ],
)
def test_the_token_names_the_person_or_application(claims: dict[str, object], name: str) -> None:
    actor = entra_actor(_token(claims))
    assert (actor.name, actor.kind) == (name, "entra")


@pytest.mark.parametrize(
    "token", ["not-a-jwt", "a.!!!.c", "a." + base64.urlsafe_b64encode(b"[1]").decode() + ".c"]
)
def test_an_unreadable_token_is_an_auth_error(token: str) -> None:
    with pytest.raises(PaysimError) as raised:
        token_claims(token)
    assert (raised.value.code, raised.value.exit_code) == ("unknown_identity", ExitCode.AUTH)


def test_a_token_naming_nobody_is_refused() -> None:
    with pytest.raises(PaysimError, match="names no user or object id"):
        entra_actor(_token({"aud": "x"}))


def test_the_os_user_is_user_at_host(monkeypatch: pytest.MonkeyPatch) -> None:
    assert os_actor().name == f"{getpass.getuser()}@{socket.gethostname()}"

    def no_user() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert os_actor().name.startswith("uid ")

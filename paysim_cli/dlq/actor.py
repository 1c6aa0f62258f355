"""Who acts, for the audit trail: the Entra identity the database sees, or the OS user and host."""

from __future__ import annotations

import base64
import binascii
import getpass
import os
import socket
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

# Claims naming a person, then an application, in the order they are preferred.
_NAME_CLAIMS = ("upn", "preferred_username", "unique_name", "email", "app_displayname")


@dataclass(frozen=True)
class Actor:
    name: str
    kind: Literal["os_user", "entra"]


def current_actor(settings: Settings) -> Actor:
    """With `database_auth = entra` the identity of the token PostgreSQL accepts (the same sign-in the
    command's connections use); otherwise the OS user, as user@host."""
    if settings.database_auth == "entra":
        from paysim_cli.db import entra_token

        return entra_actor(entra_token())
    return os_actor()


def os_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = f"uid {os.getuid()}"
    return Actor(f"{user}@{socket.gethostname()}", "os_user")


def entra_actor(token: str) -> Actor:
    """The token's person or application (upn, ..., app name) with its object id (oid)."""
    claims = token_claims(token)
    name = next((str(claims[claim]) for claim in _NAME_CLAIMS if claims.get(claim)), None)
    object_id = claims.get("oid")
    if name is None and object_id is None:
        raise PaysimError(
            "unknown_identity",
            "the Entra ID token names no user or object id (no upn, preferred_username or oid claim)",
            "sign in as a user or a managed identity (`az login`), so the audit trail can say who acted",
            exit_code=ExitCode.AUTH,
        )
    if name is None:
        return Actor(f"oid {object_id}", "entra")
    return Actor(f"{name} (oid {object_id})" if object_id else name, "entra")


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: the token came from our own credential, to name its owner."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("a JWT has three parts")
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
        if not isinstance(claims, dict):
            raise ValueError("the payload is not a JSON object")
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as error:
        raise PaysimError(
            "unknown_identity",
            f"the Entra ID access token cannot be read: {error}",
            "sign in again with `az login`",
            exit_code=ExitCode.AUTH,
        ) from error
    return claims

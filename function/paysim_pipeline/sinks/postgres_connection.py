"""The one set of rules for connecting to the pipeline's PostgreSQL, for the Function app and the CLI alike:
the URL as given, TLS required for a remote host, a connect time-out, an Entra ID token as the password.

Light at import (no psycopg, numpy or Azure SDK until a connection opens): the CLI reads these rules too.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import psycopg
    from azure.core.credentials import AccessToken

    Connection: TypeAlias = psycopg.Connection[tuple[Any, ...]]

# The scope Azure Database for PostgreSQL accepts Entra ID access tokens for.
ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
TOKEN_REFRESH_MARGIN_SECONDS = 300
# Hosts reached without TLS by default: loopback, and Unix-domain sockets (a path).
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "paysim-pipeline"


def is_local_host(host: str) -> bool:
    return host in LOCAL_HOSTS or host.startswith("/")


def libpq_params(url: str, application_name: str) -> dict[str, Any]:
    """The URL's libpq parameters, plus sslmode=require unless every host is local, a connect time-out
    and an application name; what the URL sets itself wins. Raises psycopg.ProgrammingError for a URL
    libpq cannot parse."""
    from psycopg.conninfo import conninfo_to_dict

    params: dict[str, Any] = conninfo_to_dict(url)
    hosts = str(params.get("host", "")).split(",")
    if "sslmode" not in params and not all(is_local_host(host) for host in hosts):
        params["sslmode"] = "require"
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    params.setdefault("application_name", application_name)
    return params


class EntraPassword:
    """An Entra ID access token for PostgreSQL, fetched again shortly before it expires."""

    def __init__(self) -> None:
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_on - TOKEN_REFRESH_MARGIN_SECONDS < time.time():
                from azure.identity import DefaultAzureCredential

                self._token = DefaultAzureCredential().get_token(ENTRA_SCOPE)
            return self._token.token


class Database:
    """Opens connections to the pipeline's PostgreSQL: URL as given, TLS required for a remote host."""

    def __init__(self, url: str, auth: Literal["password", "entra"]) -> None:
        self._params = libpq_params(url, APPLICATION_NAME)
        self._password = EntraPassword() if auth == "entra" else None

    def connect(self) -> Connection:
        """An open connection that also speaks the sink's wire types."""
        import psycopg

        from paysim_pipeline.sinks.postgres_wire import register_wire_types

        extra: dict[str, Any] = {"password": self._password()} if self._password is not None else {}
        connection = psycopg.connect(**self._params, **extra)
        register_wire_types(connection)
        return connection

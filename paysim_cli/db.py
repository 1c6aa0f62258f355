"""Connections to the pipeline's PostgreSQL from Settings: the local stack or Azure, password or Entra ID."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, TypeAlias

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.secrets import mask_secrets
from paysim_cli.settings import Settings
from paysim_pipeline.sinks.postgres_connection import ENTRA_SCOPE, libpq_params

if TYPE_CHECKING:
    import psycopg

    Connection: TypeAlias = psycopg.Connection[tuple[Any, ...]]

logger = logging.getLogger(__name__)

_CREDENTIALS_REFUSED = re.compile(
    r'password authentication failed|no password supplied|role "[^"]*" does not exist|pg_hba\.conf rejects'
)


def require_database_url(settings: Settings) -> str:
    """The database URL; without one, locally the stack is down (exit 4), elsewhere unconfigured (3)."""
    if settings.database_url is not None:
        return settings.database_url
    if settings.is_local:
        raise PaysimError(
            "database_not_configured",
            "no database to connect to: no local stack is running and no database URL is set",
            "run `paysim local up`, or pass --database-url",
            exit_code=ExitCode.UNAVAILABLE,
        )
    raise PaysimError(
        "database_not_configured",
        f"no database URL is set for environment {settings.env}",
        f"run `paysim infra output --env {settings.env}`, set database_url in [env.{settings.env}] of "
        "paysim.toml (or PAYSIM_DATABASE_URL), or pass --database-url",
        exit_code=ExitCode.CONFIG,
    )


def connection_params(settings: Settings) -> dict[str, Any]:
    """libpq parameters by the pipeline's connection rules (sslmode=require for a remote host, a connect
    time-out), as application `paysim`, with an Entra ID token for database_auth = "entra"."""
    import psycopg

    url = require_database_url(settings)
    try:
        params = libpq_params(url, "paysim")
    except psycopg.ProgrammingError as error:
        raise PaysimError(
            "invalid_database_url",
            f"the database URL {mask_secrets(url)} cannot be parsed: {_one_line(error)}",
            "write it as postgresql://user@host:5432/dbname",
            exit_code=ExitCode.CONFIG,
        ) from error
    if settings.database_auth == "entra":
        params["password"] = entra_token()
    return params


def entra_token() -> str:
    """An Entra ID access token for Azure Database for PostgreSQL, used as the password."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    try:
        return DefaultAzureCredential().get_token(ENTRA_SCOPE).token
    except ClientAuthenticationError as error:
        raise PaysimError(
            "database_auth_failed",
            f"no Entra ID token for PostgreSQL: {_one_line(error)}",
            "sign in with `az login` (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET); "
            "the URL's user must be the Entra principal",
            exit_code=ExitCode.AUTH,
        ) from error


def connect(settings: Settings, **kwargs: Any) -> Connection:
    """An open connection to the settings' database; keyword arguments go to psycopg.connect."""
    import psycopg

    params = connection_params(settings) | kwargs
    logger.info(
        "connecting to PostgreSQL %s as %s",
        mask_secrets(require_database_url(settings)),
        params.get("application_name"),
    )
    try:
        return psycopg.connect(**params)
    except psycopg.OperationalError as error:
        target = (
            f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params.get('dbname', '')}"
        )
        if _rejected_credentials(error):
            raise PaysimError(
                "database_auth_failed",
                f"PostgreSQL at {target} refused the credentials: {mask_secrets(_one_line(error))}",
                "check the user and password in the database URL (--database-url or PAYSIM_DATABASE_URL); "
                'with database_auth = "entra" sign in with `az login`',
                exit_code=ExitCode.AUTH,
            ) from error
        raise PaysimError(
            "database_unreachable",
            f"cannot connect to PostgreSQL at {target}: {mask_secrets(_one_line(error))}",
            "check that the server runs and the URL is right (`paysim local status` for the local stack)",
            exit_code=ExitCode.UNAVAILABLE,
        ) from error


def _rejected_credentials(error: BaseException) -> bool:
    """The server answered and refused who we said we are (libpq gives no SQLSTATE on connect)."""
    return _CREDENTIALS_REFUSED.search(str(error)) is not None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__

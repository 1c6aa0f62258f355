"""Blob Storage from Settings: a connection string (Azurite with the local stack), or an account URL
signed in with Entra ID. One place for the choice, the quick retry policy and the missing-config error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.secrets import mask_secrets
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient


def blob_not_configured(settings: Settings) -> PaysimError:
    """No blob storage: locally the stack is down (exit 4), elsewhere it is not configured (3)."""
    if settings.is_local:
        return PaysimError(
            "blob_not_configured",
            "no blob storage for raw events: no local stack is running and no blob connection string "
            "or account URL is set",
            "run `paysim local up`, or set blob_connection_string (PAYSIM_BLOB_CONNECTION_STRING)",
            exit_code=ExitCode.UNAVAILABLE,
        )
    return PaysimError(
        "blob_not_configured",
        f"no blob storage is set for environment {settings.env}",
        f"run `paysim infra output --env {settings.env}`, or set blob_account_url or "
        f"blob_connection_string in [env.{settings.env}] of paysim.toml",
        exit_code=ExitCode.CONFIG,
    )


def blob_failure(error: Exception, what: str) -> PaysimError:
    """The error for a failed Storage call: refused credentials exit 9, anything else 4."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    detail = mask_secrets(str(error).splitlines()[0] if str(error) else type(error).__name__)
    refused = isinstance(error, ClientAuthenticationError) or (
        isinstance(error, HttpResponseError) and error.status_code == 403
    )
    if refused:
        return PaysimError(
            "blob_auth_failed",
            f"the storage account refused the credentials for {what}: {detail}",
            "check the account key in blob_connection_string, or give the identity the Storage Blob Data "
            "Contributor role (`az login` for DefaultAzureCredential)",
            exit_code=ExitCode.AUTH,
        )
    return PaysimError(
        "blob_unavailable",
        f"cannot reach {what}: {detail}",
        "check that the storage account is reachable (`paysim local status` for Azurite)",
        exit_code=ExitCode.UNAVAILABLE,
    )


def container_client(settings: Settings, container: str) -> ContainerClient:
    """A client for `container` in the configured account (the container may not exist yet)."""
    from azure.storage.blob import ContainerClient, LinearRetry

    # Two retries about a second apart: the SDK's default waits over a minute on an unreachable account.
    retry = LinearRetry(backoff=1, retry_total=2, random_jitter_range=1)
    if settings.blob_connection_string is not None:
        return ContainerClient.from_connection_string(
            settings.blob_connection_string, container, retry_policy=retry, connection_timeout=10
        )
    if settings.blob_account_url is not None:
        from azure.identity import DefaultAzureCredential

        return ContainerClient(
            settings.blob_account_url,
            container,
            DefaultAzureCredential(),
            retry_policy=retry,
            connection_timeout=10,
        )
    raise blob_not_configured(settings)

"""Blob Storage from Settings: a connection string (Azurite with the local stack), or an account URL
signed in with Entra ID. One place for the choice, the quick retry policy and the missing-config error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.secrets import mask_secrets
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient


def blob_not_configured() -> PaysimError:
    return PaysimError(
        "blob_not_configured",
        "no blob storage for raw events: no blob connection string or account URL is set, "
        "and no local stack is running",
        "run paysim local up, or set blob_connection_string (PAYSIM_BLOB_CONNECTION_STRING)",
        exit_code=ExitCode.CONFIG,
    )


def blob_unavailable(error: Exception, doing: str) -> PaysimError:
    """Blob storage unreachable, or refusing: exit 4, the cause's first line (secrets masked)."""
    cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return PaysimError(
        "blob_unavailable",
        f"{doing} failed: {mask_secrets(cause)}",
        "check that the storage account is reachable (`paysim local status` for Azurite), then retry",
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
    raise blob_not_configured()

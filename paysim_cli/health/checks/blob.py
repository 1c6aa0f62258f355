"""Blob Storage's check: the raw-events container is reachable, present and writable."""

from __future__ import annotations

import contextlib
import uuid

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.health.checks.base import CheckContext, result
from paysim_cli.health.models import CheckName, CheckResult, CheckStatus

# Probe blobs live apart from the archive's names ({hub}/{group}/partition=...), so nothing reads them.
PROBE_PREFIX = "paysim-health/"


def check_blob(context: CheckContext) -> CheckResult:
    """Write and delete a probe blob in the raw-events container (the archive every batch needs)."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    from paysim_cli.blob import container_client

    name = context.settings.raw_events_container
    try:
        with container_client(context.settings, name) as container:
            if not container.exists():
                return result(
                    CheckName.BLOB,
                    CheckStatus.WARN,
                    f"container {name} does not exist yet",
                    value="container missing",
                    hint="the pipeline creates it with its first batch; "
                    "in Azure `paysim infra up` creates it",
                    container=name,
                )
            probe = container.get_blob_client(f"{PROBE_PREFIX}{uuid.uuid4().hex}")
            probe.upload_blob(b"paysim health probe\n", overwrite=True)
            with contextlib.suppress(ResourceNotFoundError):  # gone already: cleaned up either way
                probe.delete_blob()
    except AzureError as error:
        raise PaysimError(
            "blob_unavailable",
            f"container {name}: {type(error).__name__}: {' '.join(str(error).split())[:300]}",
            "check that the storage account answers (`paysim local status` shows Azurite) and that the "
            "identity may write blobs (Storage Blob Data Contributor)",
            exit_code=ExitCode.UNAVAILABLE,
        ) from error
    return result(
        CheckName.BLOB,
        CheckStatus.OK,
        f"container {name} is writable (a probe blob was written and deleted)",
        value="writable",
        container=name,
    )

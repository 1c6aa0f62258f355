"""Where a release goes: the local host's state directory, or the environment's Function App."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from paysim_cli.deploy.manifest import ReleaseManifest
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


class DeployTarget(Protocol):
    name: str
    restores_without_release: bool  # with no earlier release, it can go back to running none

    def app_settings(self) -> dict[str, str]: ...
    def release_settings(self) -> dict[str, str]: ...
    def deploy(
        self,
        package: Path,
        manifest: ReleaseManifest,
        release_settings: Mapping[str, str],
        *,
        deployment_id: str,
        on_status: Callable[[str], None],
        on_change: Callable[[], None],
    ) -> None: ...
    def deploy_nothing(self, on_status: Callable[[str], None]) -> None: ...
    def apply_settings(
        self, release_settings: Mapping[str, str], on_status: Callable[[str], None]
    ) -> None: ...
    def require_release(self) -> None: ...
    def has_host(self) -> bool: ...
    def wait_running(
        self, version: str | None, timeout: float, on_status: Callable[[str], None]
    ) -> float: ...
    def invocations(self, version: str | None) -> tuple[int, int, str | None]: ...


def deploy_target(
    settings: Settings,
    credential: TokenCredential | None = None,
    *,
    poll_seconds: float = 2.0,
    deploy_timeout: float = 900.0,
    functions_timeout: float = 180.0,
) -> DeployTarget:
    if settings.is_local:
        from paysim_cli.deploy.local import LocalTarget

        return LocalTarget(settings)
    from paysim_cli.deploy.azure_target import AzureTarget

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return AzureTarget(
        settings,
        credential,
        poll_seconds=poll_seconds,
        deploy_timeout=deploy_timeout,
        functions_timeout=functions_timeout,
    )

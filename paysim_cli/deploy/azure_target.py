"""An Azure environment as a deployment target: the Function App the connection profile names.

A deploy applies the release settings (merged over the app's, ADR 0012), uploads the package through
Kudu (one-deploy on Flex Consumption, zipdeploy on Elastic Premium) and follows it to its end, syncs
the triggers through ARM, and waits until the host lists the functions the manifest promises.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from paysim_cli.deploy.appsettings import merged_settings, release_part
from paysim_cli.deploy.azure import (
    FunctionAppClient,
    HostingPlan,
    KuduClient,
    describe_failure,
)
from paysim_cli.deploy.manifest import ReleaseManifest
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

REMOTE_BUILD_SETTING = "SCM_DO_BUILD_DURING_DEPLOYMENT"


class AzureTarget:
    restores_without_release = False  # an app always runs some package

    def __init__(
        self,
        settings: Settings,
        credential: TokenCredential,
        *,
        poll_seconds: float = 2.0,
        deploy_timeout: float = 900.0,
        functions_timeout: float = 180.0,
    ) -> None:
        self.settings, self._credential = settings, credential
        self.name = f"Function App {settings.function_app_name}"
        self._poll, self._deploy_timeout, self._functions_timeout = (
            poll_seconds,
            deploy_timeout,
            functions_timeout,
        )

    def _app(self) -> FunctionAppClient:
        return FunctionAppClient(self.settings, self._credential)

    def app_settings(self) -> dict[str, str]:
        with self._app() as app:
            return app.app_settings()

    def deploy(
        self,
        package: Path,
        manifest: ReleaseManifest,
        release_settings: Mapping[str, str],
        *,
        deployment_id: str,
        on_status: Callable[[str], None],
        on_change: Callable[[], None],
    ) -> None:
        with self._app() as app:
            site = app.site()
            current = app.app_settings()
            self._check_build(site.plan, manifest, current)
            with KuduClient(site.kudu_endpoint, self._credential, poll_seconds=self._poll) as kudu:
                kudu.check_idle()
                on_status(f"uploading {package.name} to {site.kudu_endpoint} ({site.plan.value})")
                # Nothing changes before Kudu accepts the package: a 409 leaves the app as it was.
                deployment = kudu.deploy(
                    package.read_bytes(),
                    site.plan,
                    remote_build=manifest.remote_build,
                    timeout=self._deploy_timeout,
                    on_status=on_status,
                    on_accepted=on_change,
                )
            if not deployment.succeeded:
                raise PaysimError(
                    "deployment_failed",
                    f"{site.name}: {describe_failure(deployment)}",
                    "the deployment log in the portal's Deployment Center says why",
                    exit_code=ExitCode.EXTERNAL,
                )
            merged = merged_settings(current, release_settings)
            if merged != current:
                app.replace_app_settings(merged)
                on_status(f"applied the release settings to {site.name}")
            app.sync_triggers()
            on_status(f"synced the triggers of {site.name}")
            self._wait_functions(app, manifest, on_status)

    def apply_settings(self, release_settings: Mapping[str, str], on_status: Callable[[str], None]) -> None:
        with self._app() as app:
            current = app.app_settings()
            merged = merged_settings(current, release_settings)
            if merged != current:
                app.replace_app_settings(merged)
                on_status(f"applied the release settings to {app.app}")

    def require_release(self) -> None:
        """An app always runs some package, so its settings can always be applied."""

    def release_settings(self) -> dict[str, str]:
        return release_part(self.app_settings())

    def has_host(self) -> bool:
        return True

    def deploy_nothing(self, on_status: Callable[[str], None]) -> None:  # pragma: no cover - never asked
        raise NotImplementedError("a Function App cannot run no package")

    def _check_build(self, plan: HostingPlan, manifest: ReleaseManifest, current: Mapping[str, str]) -> None:
        """Elastic Premium builds on zipdeploy only when the app says so; a mismatch fails before anything
        is changed (Flex Consumption takes the choice with the request)."""
        if plan is not HostingPlan.ELASTIC_PREMIUM:
            return
        builds = current.get(REMOTE_BUILD_SETTING, "").strip().lower() in ("true", "1")
        if manifest.remote_build and not builds:
            raise PaysimError(
                "remote_build_not_enabled",
                f"{self.name} (Elastic Premium) does not build on deploy: {REMOTE_BUILD_SETTING} is not true",
                f"set {REMOTE_BUILD_SETTING} = true in the function_app module's app_settings, or deploy a "
                "package built without --remote-build",
                exit_code=ExitCode.CONFIG,
            )

    def _wait_functions(
        self, app: FunctionAppClient, manifest: ReleaseManifest, on_status: Callable[[str], None]
    ) -> None:
        """Until the host lists every function of the manifest, enabled: a deploy that registers none is
        the failure `func publish` reports as success."""
        expected = set(manifest.function_names())
        deadline = time.monotonic() + self._functions_timeout
        while True:
            functions = app.functions()
            missing = sorted(name for name in expected if not functions.get(name))
            if not missing:
                on_status(f"{app.app} registered {', '.join(sorted(expected))}")
                return
            if time.monotonic() >= deadline:
                listed = ", ".join(sorted(functions)) or "none"
                raise PaysimError(
                    "functions_not_registered",
                    f"{app.app} did not register {', '.join(missing)} within {self._functions_timeout:g} s "
                    f"(it lists: {listed})",
                    "the host may not load the package: check the app's logs (`paysim function status`)",
                    exit_code=ExitCode.FAILURE,
                )
            time.sleep(self._poll)

    def wait_running(self, version: str | None, timeout: float, on_status: Callable[[str], None]) -> float:
        """Until the host reports Running with the pipeline's function (the health check's view)."""
        from paysim_cli.health import CheckName, HealthRequest, wait_healthy

        started = time.monotonic()
        report = wait_healthy(
            self.settings,
            HealthRequest(checks=(CheckName.FUNCTION,)),
            timeout=timeout,
            interval=self._poll,
            credential=self._credential,
        )
        if not report.healthy:
            check = report.checks[0]
            raise PaysimError(
                "release_not_running",
                f"{self.name} is not running release {version} after {timeout:g} s: {check.message}",
                check.hint,
                exit_code=ExitCode.FAILURE,
            )
        on_status(f"{self.name}: {report.checks[0].message}")
        return time.monotonic() - started

    def invocations(self, version: str | None) -> tuple[int, int, str | None]:
        """Not observable through ARM: the gate relies on lag, freshness and dead letters in Azure."""
        return (0, 0, None)

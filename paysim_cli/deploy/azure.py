"""The Function App's control plane for a deploy, signed in with Entra ID (basic auth is off).

Azure Resource Manager (azure-mgmt-web): the site (plan and Kudu host), app settings, sync triggers
and the registered functions. The app's Kudu site: on Flex Consumption the one-deploy API
(`POST /api/publish?RemoteBuild=…`), on Elastic Premium `POST /api/zipdeploy?isAsync=true`; both are
polled on `GET /api/deployments/{id}` (or the Location Kudu returns) until the deployment's `status`
is final, since an HTTP 200 alone does not mean the deployment is done. A 409 is a deployment
already in progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.health.checks.arm import arm_errors, first_line, function_app_coordinates, request_options
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.core.credentials import TokenCredential
    from azure.core.rest import HttpResponse
    from azure.mgmt.web import WebSiteManagementClient

ARM_SCOPE = "https://management.azure.com/.default"  # Kudu accepts ARM tokens
DEPLOYER = "paysim"
POLL_SECONDS = 2.0
UPLOAD_TIMEOUT_SECONDS = 600
SYNC_ATTEMPTS = 3

# Kudu's DeployStatus values.
KUDU_STATUS = {
    -1: "cancelled",
    0: "pending",
    1: "building",
    2: "deploying",
    3: "failed",
    4: "success",
    5: "conflict",
    6: "partial success",
}
KUDU_SUCCESS = 4
KUDU_FINAL = frozenset({-1, 3, 4, 5, 6})


class HostingPlan(StrEnum):
    FLEX_CONSUMPTION = "flex_consumption"
    ELASTIC_PREMIUM = "elastic_premium"


@dataclass(frozen=True)
class SiteInfo:
    name: str
    plan: HostingPlan
    kudu_endpoint: str
    state: str | None


class KuduDeployment(BaseModel):
    """A deployment as Kudu reports it, with the last lines of its log when it failed."""

    id: str
    status: int
    status_text: str
    complete: bool
    log: list[str] = []

    @property
    def succeeded(self) -> bool:
        return self.status == KUDU_SUCCESS

    @property
    def final(self) -> bool:
        return self.complete or self.status in KUDU_FINAL


class FunctionAppClient:
    """One Function App through ARM. Use as a context manager."""

    def __init__(self, settings: Settings, credential: TokenCredential) -> None:
        from azure.mgmt.web import WebSiteManagementClient

        self.subscription, self.group, self.app = function_app_coordinates(settings)
        self._options = request_options(settings.arm_endpoint)
        self._settings = settings
        self._client: WebSiteManagementClient = WebSiteManagementClient(
            credential, self.subscription, base_url=settings.arm_endpoint, retry_total=2
        )

    def __enter__(self) -> FunctionAppClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def site(self) -> SiteInfo:
        """The app's plan (Flex Consumption or Elastic Premium) and its Kudu site."""
        with arm_errors(self.app, self.group, "reading"):
            site = self._client.web_apps.get(self.group, self.app, **self._options)
        # As azure-cli tells them apart: the site's own sku is FlexConsumption on that plan only.
        sku = str(getattr(site.properties, "sku", None) or "")
        plan = (
            HostingPlan.FLEX_CONSUMPTION if sku.lower() == "flexconsumption" else HostingPlan.ELASTIC_PREMIUM
        )
        kudu = self._settings.kudu_endpoint or _kudu_endpoint(site)
        if kudu is None:
            raise PaysimError(
                "kudu_not_found",
                f"Function App {self.app} reports no Kudu (SCM) host name",
                "set kudu_endpoint (PAYSIM_KUDU_ENDPOINT) to https://<app>.scm.azurewebsites.net",
                exit_code=ExitCode.CONFIG,
            )
        return SiteInfo(self.app, plan, kudu, None if site.state is None else str(site.state))

    def app_settings(self) -> dict[str, str]:
        with arm_errors(self.app, self.group, "reading the app settings of"):
            values = self._client.web_apps.list_application_settings(self.group, self.app, **self._options)
        return dict(values.properties or {})

    def replace_app_settings(self, values: Mapping[str, str]) -> None:
        """Write the whole set (the API replaces it): the caller merged the release's into the app's."""
        from azure.mgmt.web.models import StringDictionary

        with arm_errors(self.app, self.group, "updating the app settings of"):
            self._client.web_apps.update_application_settings(
                self.group, self.app, StringDictionary(properties=dict(values)), **self._options
            )

    def sync_triggers(self) -> None:
        """ARM's syncfunctiontriggers, so the scale controller sees the new triggers.

        azure-mgmt-web accepts only 204 and raises on the 200 the service actually answers: a 200 (or
        204) is success. A 409 (the host restarting) or a 5xx is retried."""
        from azure.core.exceptions import HttpResponseError

        for attempt in range(SYNC_ATTEMPTS):
            try:
                with arm_errors(self.app, self.group, "syncing the triggers of"):
                    try:
                        self._client.web_apps.sync_function_triggers(self.group, self.app, **self._options)
                    except HttpResponseError as error:
                        if error.status_code not in (200, 204):
                            raise
                return
            except PaysimError as error:
                status = getattr(error.__cause__, "status_code", None)
                retryable = status is None or status in (409, 429) or status >= 500
                if not retryable or attempt == SYNC_ATTEMPTS - 1:
                    raise PaysimError(
                        "sync_triggers_failed",
                        f"syncing the triggers of {self.app} failed: {error.message}",
                        "the package is deployed but the platform may not scale on its triggers; "
                        "see the app's Diagnose and solve problems blade",
                        exit_code=error.exit_code if error.exit_code is ExitCode.AUTH else ExitCode.EXTERNAL,
                    ) from error
                time.sleep(POLL_SECONDS * (attempt + 1))

    def functions(self) -> dict[str, bool]:
        """The functions the host registered: name -> enabled."""
        with arm_errors(self.app, self.group, "listing the functions of"):
            envelopes = list(self._client.web_apps.list_functions(self.group, self.app, **self._options))
        return {str(envelope.name).rsplit("/", 1)[-1]: not envelope.is_disabled for envelope in envelopes}


def _kudu_endpoint(site: Any) -> str | None:
    """The SCM host from the site's host names (the Repository one), over https."""
    for state in site.properties.host_name_ssl_states or []:
        if str(getattr(state.host_type, "value", state.host_type)) == "Repository" and state.name:
            return f"https://{state.name}"
    return None


class KuduClient:
    """The app's Kudu site: deploy a package and follow the deployment to its end."""

    def __init__(
        self, endpoint: str, credential: TokenCredential, *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy

        self.endpoint = endpoint.rstrip("/")
        self._options = request_options(self.endpoint)
        self._poll_seconds = poll_seconds
        self._client: PipelineClient[Any, Any] = PipelineClient(
            base_url=self.endpoint,
            policies=[
                RetryPolicy(retry_total=2, retry_on_status_codes=[502, 503, 504]),
                BearerTokenCredentialPolicy(credential, ARM_SCOPE),
            ],
        )

    def __enter__(self) -> KuduClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def check_idle(self) -> None:
        """A deployment still running is a conflict, found before this deploy changes anything."""
        response = self._send("GET", "/api/deployments/latest")
        if response.status_code not in (200, 202):
            return  # 404: the app was never deployed to
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("status"), int) and not _deployment(body).final:
            raise PaysimError(
                "deployment_in_progress",
                f"deployment {body.get('id')} to {self.endpoint} is still "
                f"{KUDU_STATUS.get(int(body['status']), 'running')}",
                f"wait for it to finish ({self.endpoint}/api/deployments/latest), then deploy again",
                exit_code=ExitCode.CONFLICT,
            )

    def deploy(
        self,
        package: bytes,
        plan: HostingPlan,
        *,
        remote_build: bool,
        timeout: float,
        on_status: Callable[[str], None],
        on_accepted: Callable[[], None],
    ) -> KuduDeployment:
        """Upload the package the plan's way and poll until the deployment is final; its last state."""
        if plan is HostingPlan.FLEX_CONSUMPTION:
            path = f"/api/publish?RemoteBuild={str(remote_build).lower()}&Deployer={DEPLOYER}"
            content_type = "application/zip"
        else:
            path = f"/api/zipdeploy?isAsync=true&Deployer={DEPLOYER}"
            content_type = "application/octet-stream"
        response = self._send("POST", path, content=package, headers={"Content-Type": content_type})
        if response.status_code == 409:
            raise PaysimError(
                "deployment_in_progress",
                f"Kudu at {self.endpoint} refused the package (409): another deployment is in progress",
                f"wait for it to finish ({self.endpoint}/api/deployments/latest), then deploy again",
                exit_code=ExitCode.CONFLICT,
            )
        if response.status_code not in (200, 202):
            raise _kudu_failed(self.endpoint, "refused the package", response)
        on_accepted()
        poll = self._poll_path(response, plan)
        on_status(f"Kudu accepted the package (HTTP {response.status_code}); polling {poll}")
        return self._wait(poll, timeout, on_status)

    def _poll_path(self, response: HttpResponse, plan: HostingPlan) -> str:
        """Where to follow the deployment: zipdeploy's Location; one-deploy's id (its body); else latest."""
        location = response.headers.get("Location")
        if plan is HostingPlan.ELASTIC_PREMIUM and location:
            parts = urlsplit(location)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        deployment_id = response.text().strip().strip('"') if plan is HostingPlan.FLEX_CONSUMPTION else ""
        return f"/api/deployments/{deployment_id}" if deployment_id else "/api/deployments/latest"

    def _wait(self, path: str, timeout: float, on_status: Callable[[str], None]) -> KuduDeployment:
        deadline = time.monotonic() + timeout
        last = None
        while True:
            response = self._send("GET", path)
            if response.status_code not in (200, 202):
                raise _kudu_failed(self.endpoint, "did not report the deployment", response)
            deployment = _deployment(response.json())
            if deployment.status_text != getattr(last, "status_text", None) or deployment.status != getattr(
                last, "status", None
            ):
                on_status(f"deployment {deployment.id}: {_describe(deployment)}")
            last = deployment
            if deployment.final:
                if not deployment.succeeded:
                    return deployment.model_copy(update={"log": self._log_tail(response.json())})
                return deployment
            if time.monotonic() >= deadline:
                raise PaysimError(
                    "deployment_timed_out",
                    f"deployment {deployment.id} was still {_describe(deployment)} after {timeout:g} s",
                    f"follow it at {self.endpoint}{path}; raise --deploy-timeout for long remote builds",
                    exit_code=ExitCode.EXTERNAL,
                )
            time.sleep(self._poll_seconds)

    def _log_tail(self, body: Mapping[str, Any]) -> list[str]:
        """The last messages of a failed deployment's log (best effort: the failure stands without them)."""
        log_url = body.get("log_url")
        if not log_url:
            return []
        parts = urlsplit(urljoin(self.endpoint + "/", str(log_url)))
        try:
            response = self._send("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
            entries = response.json() if response.status_code == 200 else []
        except (PaysimError, ValueError):
            return []
        return [str(entry.get("message", "")) for entry in entries[-5:] if isinstance(entry, dict)]

    def _send(
        self, method: str, path: str, *, content: bytes | None = None, headers: dict[str, str] | None = None
    ) -> HttpResponse:
        from azure.core.exceptions import AzureError, ClientAuthenticationError
        from azure.core.rest import HttpRequest

        request = HttpRequest(method, self.endpoint + path, content=content, headers=headers or {})
        try:
            response: HttpResponse = self._client.send_request(
                request, read_timeout=UPLOAD_TIMEOUT_SECONDS, **self._options
            )
        except ClientAuthenticationError as error:
            raise _auth_failed(self.endpoint, first_line(error)) from error
        except AzureError as error:
            raise PaysimError(
                "kudu_unavailable",
                f"the app's Kudu site {self.endpoint} is unreachable: {first_line(error)}",
                "retry; check the app's network access restrictions for the SCM site",
                exit_code=ExitCode.UNAVAILABLE,
            ) from error
        if response.status_code in (401, 403):
            raise _auth_failed(self.endpoint, f"HTTP {response.status_code}")
        return response


def _deployment(body: Any) -> KuduDeployment:
    if not isinstance(body, dict) or not isinstance(body.get("status"), int):
        raise PaysimError(
            "kudu_unexpected_answer",
            f"Kudu reported a deployment without a status: {str(body)[:200]}",
            "retry; if it persists, look at the deployment in the portal's Deployment Center",
            exit_code=ExitCode.EXTERNAL,
        )
    status = int(body["status"])
    return KuduDeployment(
        id=str(body.get("id") or "latest"),
        status=status,
        status_text=str(body.get("status_text") or ""),
        complete=bool(body.get("complete")),
    )


def _describe(deployment: KuduDeployment) -> str:
    text = f" ({deployment.status_text})" if deployment.status_text else ""
    return f"{KUDU_STATUS.get(deployment.status, f'status {deployment.status}')}{text}"


def describe_failure(deployment: KuduDeployment) -> str:
    """One line on a deployment that did not succeed, with the last line of its log."""
    tail = f": {deployment.log[-1]}" if deployment.log else ""
    return f"deployment {deployment.id} ended {_describe(deployment)}{tail}"


def _kudu_failed(endpoint: str, what: str, response: HttpResponse) -> PaysimError:
    return PaysimError(
        "kudu_request_failed",
        f"Kudu at {endpoint} {what}: HTTP {response.status_code} {response.text()[:300]}",
        "the message says why; the portal's Deployment Center shows the deployment log",
        exit_code=ExitCode.EXTERNAL,
    )


def _auth_failed(endpoint: str, detail: str) -> PaysimError:
    return PaysimError(
        "azure_auth_failed",
        f"the Kudu site {endpoint} refused the credentials: {detail}",
        "sign in with `az login`; the identity needs Website Contributor (or Contributor) on the app, "
        "and the SCM site must accept Entra ID tokens",
        exit_code=ExitCode.AUTH,
    )

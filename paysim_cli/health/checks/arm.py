"""The Function App as Azure Resource Manager reports it: site state, host status, registered functions.

Three documented calls, all signed in with Entra ID (no master key, no basic auth):
- `GET .../Microsoft.Web/sites/{app}` (Web Apps - Get): `state`, `enabled`, `availabilityState`;
- `GET .../sites/{app}/hostruntime/admin/host/status`: the Functions host's admin status API
  (`state`, `version`, `errors`) through ARM's host-runtime proxy;
- `GET .../sites/{app}/functions` (Web Apps - List Functions): the functions the host registered.
azure-mgmt-web has the first and the last; the host status goes through the client's own pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

ARM_API_VERSION = "2024-11-01"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class FunctionAppState:
    name: str
    state: str | None  # Running, Stopped
    enabled: bool | None
    availability: str | None  # Normal, Limited, DisasterRecoveryMode
    host_state: str | None  # Running, Error, Offline, Initialized, Default
    host_version: str | None
    host_errors: list[str] = field(default_factory=list)
    functions: dict[str, bool] = field(default_factory=dict)  # name -> enabled


def function_app_coordinates(settings: Settings) -> tuple[str, str, str]:
    """(subscription, resource group, app name); a configuration error names what is missing."""
    missing = [
        name
        for name in ("subscription_id", "resource_group", "function_app_name")
        if not getattr(settings, name)
    ]
    if missing:
        raise PaysimError(
            "function_app_not_configured",
            f"the {settings.env} environment does not say which Function App runs the pipeline: "
            f"{', '.join(missing)} not set",
            f"run `paysim infra output --env {settings.env}` (its profile names them), or set "
            + ", ".join(f"PAYSIM_{name.upper()}" for name in missing),
            exit_code=ExitCode.CONFIG,
        )
    return str(settings.subscription_id), str(settings.resource_group), str(settings.function_app_name)


def request_options(endpoint: str) -> dict[str, Any]:
    """Bearer tokens travel over https only; plain http is allowed for a loopback endpoint alone."""
    parts = urlsplit(endpoint)
    if parts.scheme == "https":
        return {}
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return {"enforce_https": False}
    raise PaysimError(
        "invalid_arm_endpoint",
        f"arm_endpoint {endpoint} is not https",
        "leave arm_endpoint at https://management.azure.com (or your cloud's https endpoint)",
        exit_code=ExitCode.CONFIG,
    )


def read_function_app(settings: Settings, credential: TokenCredential) -> FunctionAppState:
    """The app's state, its host's status and its functions, in three ARM calls."""
    from azure.core.rest import HttpRequest
    from azure.mgmt.web import WebSiteManagementClient

    subscription, group, app = function_app_coordinates(settings)
    options = request_options(settings.arm_endpoint)
    client = WebSiteManagementClient(credential, subscription, base_url=settings.arm_endpoint, retry_total=1)
    site_path = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/sites/{app}"
    with arm_errors(app, group, "reading"), client:
        site = client.web_apps.get(group, app, **options)
        status_path = f"{site_path}/hostruntime/admin/host/status?api-version={ARM_API_VERSION}"
        response = client.send_request(HttpRequest("GET", status_path), **options)
        host: dict[str, Any] = response.json() if response.status_code == 200 else {}
        functions = {
            str(envelope.name).rsplit("/", 1)[-1]: not envelope.is_disabled
            for envelope in client.web_apps.list_functions(group, app, **options)
        }
    if response.status_code != 200:
        host = {"state": f"unavailable (HTTP {response.status_code})"}
    return FunctionAppState(
        name=app,
        state=_text(site.state),
        enabled=site.enabled,
        availability=_text(site.availability_state),
        host_state=host.get("state"),
        host_version=host.get("version"),
        host_errors=[str(item) for item in host.get("errors") or []],
        functions=functions,
    )


@contextmanager
def arm_errors(app: str, group: str, doing: str) -> Iterator[None]:
    """Azure SDK errors of calls about Function App `app` as PaysimErrors: rejected credentials,
    an unknown app, a request the service refused, or the service out of reach."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
    )

    try:
        yield
    except ClientAuthenticationError as error:
        raise PaysimError(
            "azure_auth_failed",
            f"Azure Resource Manager refused the credentials: {first_line(error)}",
            "sign in with `az login` (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET); the "
            "identity needs Reader on the Function App (Website Contributor to deploy)",
            exit_code=ExitCode.AUTH,
        ) from error
    except ResourceNotFoundError as error:
        raise PaysimError(
            "function_app_not_found",
            f"Function App {app} not found in resource group {group}: {first_line(error)}",
            "check function_app_name and resource_group (`paysim infra output` writes them)",
            exit_code=ExitCode.CONFIG,
        ) from error
    except HttpResponseError as error:
        if error.status_code is not None and 400 <= error.status_code < 500 and error.status_code != 429:
            raise PaysimError(
                "arm_request_failed",
                f"Azure Resource Manager refused {doing} {app} (HTTP {error.status_code}): "
                f"{first_line(error)}",
                "the message says why; `paysim function status` shows the app's state",
                exit_code=ExitCode.EXTERNAL,
            ) from error
        raise _unavailable(app, doing, error) from error
    except AzureError as error:
        raise _unavailable(app, doing, error) from error


def _unavailable(app: str, doing: str, error: BaseException) -> PaysimError:
    return PaysimError(
        "arm_unavailable",
        f"Azure Resource Manager failed {doing} {app}: {first_line(error)}",
        "retry; Azure status pages say whether App Service has an incident",
        exit_code=ExitCode.UNAVAILABLE,
    )


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _text(value: object) -> str | None:
    """The wire value of an SDK enum (`SiteAvailabilityState.LIMITED` -> "Limited"), or the text."""
    if value is None:
        return None
    return str(getattr(value, "value", value))

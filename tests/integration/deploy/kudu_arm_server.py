"""A local HTTP server that answers the Azure control-plane calls `paysim function deploy` makes, with
their documented request and response shapes; Azure Resource Manager and Kudu cannot run here.

ARM (api-version required, Bearer token): Web Apps - Get (`properties.sku` FlexConsumption or
ElasticPremium), List Application Settings (`POST .../config/appsettings/list`), Update Application
Settings (`PUT .../config/appsettings`, the whole set), Sync Function Triggers (`POST
.../syncfunctiontriggers`, which the service answers 200 where azure-mgmt-web expects 204), List
Functions, and the host-runtime proxy's `admin/host/status`.
Kudu: `POST /api/publish?RemoteBuild=&Deployer=` (one-deploy, 202 with the deployment id as its body),
`POST /api/zipdeploy?isAsync=true` (202 with a Location to poll), `GET /api/deployments/{id|latest}`
(DeployResult: `status` 0 pending .. 3 failed, 4 success; `complete`), `GET .../log`, and 409 while a
deployment runs.

What the Functions host would do is scripted: after a successful deployment it "registers" the
functions the package's manifest lists (or none, when told to), as the real host indexes the app.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
GROUP = "rg-paysim-dev-weu"
APP = "func-paysim-dev-weu"
SITE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/{APP}"
TOKEN = "test-token"
TERRAFORM_SETTINGS = {
    "EventHubConnection__fullyQualifiedNamespace": "evhns-paysim-dev.servicebus.windows.net",
    "AzureWebJobsStorage__accountName": "stpaysimdev",
    "AzureWebJobsStorage__credential": "managedidentity",
    "azurewebjobsstorage": "",
    "PAYSIM_DATABASE_URL": "postgresql://func-paysim-dev-weu@psql-paysim-dev.postgres.database.azure.com/paysim",
    "PAYSIM_DATABASE_AUTH": "entra",
}


class StaticToken:
    """A TokenCredential with one token: Entra ID cannot run here."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(TOKEN, 4_102_444_800)


@dataclass
class Deployment:
    id: str
    package: bytes
    outcome: int  # 4 success, 3 failed
    polls_left: int
    log: list[str]
    status: int = 0
    complete: bool = False

    def advance(self) -> None:
        if self.complete:
            return
        if self.polls_left > 0:
            self.polls_left -= 1
            self.status = 1 if self.status == 0 else 2
            return
        self.status, self.complete = self.outcome, True

    def body(self, base: str) -> dict[str, Any]:
        texts = {
            0: "",
            1: "Building and Deploying",
            2: "Deploying",
            3: "Deployment failed",
            4: "Deployment successful",
        }
        return {
            "id": self.id,
            "status": self.status,
            "status_text": texts.get(self.status, ""),
            "author_email": "N/A",
            "author": "N/A",
            "deployer": "paysim",
            "message": "Created via a push deployment",
            "progress": "",
            "received_time": "2026-12-01T10:00:00Z",
            "start_time": "2026-12-01T10:00:00Z",
            "end_time": "2026-12-01T10:00:05Z" if self.complete else None,
            "last_success_end_time": None,
            "complete": self.complete,
            "active": self.complete and self.status == 4,
            "is_temp": False,
            "is_readonly": True,
            "url": f"{base}/api/deployments/{self.id}",
            "log_url": f"{base}/api/deployments/{self.id}/log",
            "site_name": APP,
            "build_summary": {"errors": [], "warnings": []},
        }


@dataclass
class AzureState:
    sku: str = "FlexConsumption"
    settings: dict[str, str] = field(default_factory=lambda: dict(TERRAFORM_SETTINGS))
    functions: list[str] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    # Scripting: what the next deployment does and how the endpoints answer.
    outcomes: list[int] = field(default_factory=list)  # popped per deployment; 4 (success) once empty
    polls: int = 2
    failure_log: list[str] = field(default_factory=lambda: ["Starting deployment", "Deployment failed."])
    publish_status: int | None = None  # e.g. 409
    sync_answers: list[int] = field(default_factory=list)  # popped per call; 200 (the quirk) once empty
    register_nothing: bool = False  # for the next successful deployment only
    requests: list[tuple[str, str]] = field(default_factory=list)
    unauthorized: list[str] = field(default_factory=list)

    def calls(self, method: str, prefix: str) -> list[str]:
        return [path for verb, path in self.requests if verb == method and path.startswith(prefix)]

    def deployed_packages(self) -> list[str]:
        """sha256 of every package accepted, in order."""
        return [hashlib.sha256(item.package).hexdigest() for item in self.deployments]


def _manifest_functions(package: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        manifest = json.loads(archive.read("paysim-release.json"))
    return [function["name"] for function in manifest["functions"]]


class _Handler(BaseHTTPRequestHandler):
    state: AzureState
    base: str
    lock: threading.Lock

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: object = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(body, bytes) else "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self, method: str) -> None:
        body = self._body()
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with self.lock:
            self.state.requests.append((method, self.path))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.state.unauthorized.append(self.path)
                self._send(401, {"error": {"code": "Unauthorized", "message": "no token"}})
                return
            if parts.path.startswith("/subscriptions/"):
                if "api-version" not in query:
                    self._send(
                        400, {"error": {"code": "MissingApiVersionParameter", "message": "api-version"}}
                    )
                    return
                self._arm(method, parts.path, body)
            else:
                self._kudu(method, parts.path, query, body)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _arm(self, method: str, path: str, body: bytes) -> None:
        state = self.state
        if (method, path) == ("GET", SITE):
            self._send(200, _site(state))
        elif (method, path) == ("POST", f"{SITE}/config/appsettings/list"):
            self._send(200, _settings(state.settings))
        elif (method, path) == ("PUT", f"{SITE}/config/appsettings"):
            state.settings = dict(json.loads(body)["properties"])
            self._send(200, _settings(state.settings))
        elif (method, path) == ("POST", f"{SITE}/syncfunctiontriggers"):
            status = state.sync_answers.pop(0) if state.sync_answers else 200
            error = {
                "error": {
                    "code": "BadRequest",
                    "message": "Encountered an error (BadRequest) from host runtime.",
                }
            }
            self._send(status, error if status >= 300 else None)
        elif (method, path) == ("GET", f"{SITE}/functions"):
            self._send(200, _functions(state.functions))
        elif (method, path) == ("GET", f"{SITE}/hostruntime/admin/host/status"):
            self._send(200, {"id": "a1b2c3", "state": "Running", "version": "4.1036.2.2", "errors": []})
        else:
            self._send(404, {"error": {"code": "NotFound", "message": path}})

    def _kudu(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        state = self.state
        if method == "POST" and path in ("/api/publish", "/api/zipdeploy"):
            self._publish(path, query, body)
        elif method == "GET" and path == "/api/deployments/latest":
            if not state.deployments:
                self._send(404, {"Message": "no deployment"})
                return
            self._poll(state.deployments[-1])
        elif method == "GET" and path.startswith("/api/deployments/") and path.endswith("/log"):
            deployment = self._find(path.split("/")[3])
            entries = [
                {"log_time": "2026-12-01T10:00:01Z", "id": str(n), "message": line, "type": 0}
                for n, line in enumerate(deployment.log if deployment else [])
            ]
            self._send(200, entries)
        elif method == "GET" and path.startswith("/api/deployments/"):
            deployment = self._find(path.split("/")[3])
            if deployment is None:
                self._send(404, {"Message": "no such deployment"})
            else:
                self._poll(deployment)
        else:
            self._send(404, {"Message": path})

    def _publish(self, path: str, query: dict[str, list[str]], body: bytes) -> None:
        state = self.state
        flex = state.sku == "FlexConsumption"
        if (path == "/api/publish") != flex:
            self._send(404 if flex else 415, {"Message": f"{path} is not this plan's deploy API"})
            return
        if state.publish_status is not None:
            self._send(state.publish_status, {"Message": "There is a deployment currently in progress."})
            return
        if state.deployments and not state.deployments[-1].complete:
            self._send(409, {"Message": "There is a deployment currently in progress."})
            return
        if query.get("Deployer") != ["paysim"] or (
            path == "/api/zipdeploy" and query.get("isAsync") != ["true"]
        ):
            self._send(400, {"Message": f"unexpected query {query}"})
            return
        content_type = "application/zip" if flex else "application/octet-stream"
        if self.headers.get("Content-Type") != content_type:
            self._send(415, {"Message": f"Content-Type {self.headers.get('Content-Type')}"})
            return
        outcome = state.outcomes.pop(0) if state.outcomes else 4
        deployment = Deployment(
            id=uuid.uuid4().hex,
            package=body,
            outcome=outcome,
            polls_left=state.polls,
            log=state.failure_log if outcome != 4 else ["Deployment successful."],
        )
        state.deployments.append(deployment)
        if flex:
            self._send(202, deployment.id.encode())
        else:
            location = f"{self.base}/api/deployments/latest?deployer=paysim&time=2026-12-01_10-00-00Z"
            self._send(202, None, {"Location": location})

    def _find(self, deployment_id: str) -> Deployment | None:
        return next((item for item in self.state.deployments if item.id == deployment_id), None)

    def _poll(self, deployment: Deployment) -> None:
        was_complete = deployment.complete
        deployment.advance()
        if deployment.complete and not was_complete and deployment.status == 4:
            # The host restarts on the new package and indexes its functions.
            nothing, self.state.register_nothing = self.state.register_nothing, False
            self.state.functions = [] if nothing else _manifest_functions(deployment.package)
        self._send(200 if deployment.complete else 202, deployment.body(self.base))


def _site(state: AzureState) -> dict[str, Any]:
    return {
        "id": SITE,
        "name": APP,
        "type": "Microsoft.Web/sites",
        "kind": "functionapp,linux",
        "location": "West Europe",
        "properties": {
            "state": "Running",
            "enabled": True,
            "availabilityState": "Normal",
            "sku": state.sku,
            "defaultHostName": f"{APP}.azurewebsites.net",
            "hostNameSslStates": [
                {"name": f"{APP}.azurewebsites.net", "sslState": "Disabled", "hostType": "Standard"},
                {"name": f"{APP}.scm.azurewebsites.net", "sslState": "Disabled", "hostType": "Repository"},
            ],
        },
    }


def _settings(values: dict[str, str]) -> dict[str, Any]:
    return {
        "id": f"{SITE}/config/appsettings",
        "name": "appsettings",
        "type": "Microsoft.Web/sites/config",
        "properties": values,
    }


def _functions(names: list[str]) -> dict[str, Any]:
    return {
        "value": [
            {
                "id": f"{SITE}/functions/{name}",
                "name": f"{APP}/{name}",
                "type": "Microsoft.Web/sites/functions",
                "properties": {"name": name, "language": "python", "isDisabled": False},
            }
            for name in names
        ],
        "nextLink": None,
    }


@contextmanager
def azure_server() -> Iterator[tuple[str, AzureState]]:
    """The server on a free loopback port: (its base URL, its state)."""
    state = AzureState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    handler = type("Handler", (_Handler,), {"state": state, "base": base, "lock": threading.Lock()})
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, state
    finally:
        server.shutdown()
        server.server_close()

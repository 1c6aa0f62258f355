"""`paysim health` for an Azure environment, on what runs here.

The Function App check talks to a local HTTP server that answers the documented Azure Resource Manager
calls with their documented response shapes (Web Apps - Get, the host-runtime proxy of the Functions
host's `admin/host/status`, Web Apps - List Functions); ARM itself cannot run on this machine. The hub
side is the unmodified azure-eventhub SDK against paysim's AMQP endpoint, and the Functions host's
checkpoints are blobs in the real Azurite written by the real azure-eventhub-checkpointstoreblob.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from azure.core.credentials import AccessToken

from paysim_cli.health import CheckName, CheckStatus, HealthRequest, run_checks
from paysim_cli.health.backlog import FUNCTIONS_CHECKPOINT_CONTAINER
from paysim_cli.hub.amqp.connection import ConnectionPolicy
from paysim_cli.hub.amqp.server import AmqpServer, EndpointConfig
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.targets import HubTarget, open_publisher
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.local.state import eventhub_connection_string
from paysim_cli.settings import Settings

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
GROUP = "rg-paysim-dev-weu"
APP = "func-paysim-dev-weu"
SITE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/{APP}"


class StaticToken:
    """A TokenCredential that hands out one token: ARM's sign-in is Entra ID, which cannot run here."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        assert scopes == ("https://management.azure.com/.default",)
        return AccessToken("test-token", 4_102_444_800)


@dataclass
class ArmState:
    site_state: str = "Running"
    availability: str = "Normal"
    host: dict[str, Any] = field(
        default_factory=lambda: {
            "id": "a1b2c3",
            "state": "Running",
            "version": "4.1036.2.2",
            "versionDetails": "4.1036.2.2 Commit hash: 0f1e2d",
            "platformVersion": "",
            "instanceId": "0123456789abcdef",
            "computerName": "",
            "processUptime": 53213,
            "functionAppContentEditingState": "NotAllowed",
        }
    )
    functions: list[str] = field(default_factory=lambda: ["process_payment_events"])
    site_status: int = 200
    requests: list[tuple[str, str | None]] = field(default_factory=list)


def _site(state: ArmState) -> dict[str, Any]:
    return {
        "id": SITE,
        "name": APP,
        "type": "Microsoft.Web/sites",
        "kind": "functionapp,linux",
        "location": "West Europe",
        "properties": {
            "state": state.site_state,
            "hostNames": [f"{APP}.azurewebsites.net"],
            "usageState": "Normal",
            "enabled": True,
            "availabilityState": state.availability,
            "defaultHostName": f"{APP}.azurewebsites.net",
        },
    }


def _functions(state: ArmState) -> dict[str, Any]:
    return {
        "value": [
            {
                "id": f"{SITE}/functions/{name}",
                "name": f"{APP}/{name}",
                "type": "Microsoft.Web/sites/functions",
                "properties": {
                    "name": name,
                    "function_app_id": None,
                    "config": {
                        "bindings": [{"type": "eventHubTrigger", "name": "events", "direction": "in"}]
                    },
                    "language": "python",
                    "isDisabled": False,
                },
            }
            for name in state.functions
        ],
        "nextLink": None,
    }


@pytest.fixture
def arm() -> Iterator[tuple[str, ArmState]]:
    state = ArmState()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            state.requests.append((path, self.headers.get("Authorization")))
            assert "api-version=" in query
            if path == SITE and state.site_status != 200:
                self._send(state.site_status, {"error": {"code": "ResourceNotFound", "message": "not found"}})
            elif path == SITE:
                self._send(200, _site(state))
            elif path == f"{SITE}/hostruntime/admin/host/status":
                self._send(200, state.host)
            elif path == f"{SITE}/functions":
                self._send(200, _functions(state))
            else:
                self._send(404, {"error": {"code": "NotFound", "message": path}})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


def _azure(settings: Settings, endpoint: str) -> Settings:
    return settings.override(
        env="dev",
        subscription_id=SUBSCRIPTION,
        resource_group=GROUP,
        function_app_name=APP,
        arm_endpoint=endpoint,
    )


def _function(settings: Settings) -> Any:
    report = run_checks(settings, HealthRequest(checks=(CheckName.FUNCTION,)), credential=StaticToken())
    (check,) = report.checks
    return check


def test_a_running_app_with_its_function_registered_is_ok(arm, settings: Settings) -> None:
    endpoint, state = arm

    check = _function(_azure(settings, endpoint))

    assert check.status is CheckStatus.OK, check
    assert check.value == "Running, host Running, 1 functions"
    assert check.details["host_version"] == "4.1036.2.2"
    assert [path for path, _ in state.requests] == [
        SITE,
        f"{SITE}/hostruntime/admin/host/status",
        f"{SITE}/functions",
    ]
    assert {auth for _, auth in state.requests} == {"Bearer test-token"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"site_state": "Stopped"}, "the app is Stopped"),
        ({"availability": "Limited"}, "availability is Limited"),
        (
            {"host": {"state": "Error", "errors": ["Microsoft.Azure.WebJobs.Host: Error indexing method"]}},
            "the host is Error; host errors: Microsoft.Azure.WebJobs.Host: Error indexing method",
        ),
        ({"functions": []}, "process_payment_events is not registered (0 functions are)"),
    ],
)
def test_an_app_that_is_not_running_the_pipeline_fails(
    arm, settings: Settings, change: dict[str, Any], problem: str
) -> None:
    endpoint, state = arm
    for name, value in change.items():
        setattr(state, name, value)

    check = _function(_azure(settings, endpoint))

    assert check.status is CheckStatus.FAIL
    assert problem in check.message
    assert "paysim function status" in (check.hint or "")


def test_an_unknown_app_or_missing_coordinates_fail_with_what_to_set(arm, settings: Settings) -> None:
    endpoint, state = arm
    state.site_status = 404

    missing_app = _function(_azure(settings, endpoint))
    unconfigured = _function(settings.override(env="dev"))

    assert (missing_app.status, missing_app.details["error_code"]) == (
        CheckStatus.FAIL,
        "function_app_not_found",
    )
    assert unconfigured.status is CheckStatus.FAIL
    assert "subscription_id, resource_group, function_app_name not set" in unconfigured.message
    assert "PAYSIM_FUNCTION_APP_NAME" in (unconfigured.hint or "")


def test_plain_http_is_refused_for_anything_but_a_loopback_arm_endpoint(settings: Settings) -> None:
    check = _function(_azure(settings, "http://management.example.com"))

    assert (check.status, check.details["error_code"]) == (CheckStatus.FAIL, "invalid_arm_endpoint")


@pytest.fixture
def eventhub_settings(
    settings: Settings, migrated_database_url: str, blob_connection_string: str
) -> Iterator[Settings]:
    """Event Hubs through paysim's AMQP endpoint on the test's log; PostgreSQL and Azurite for real."""
    LocalEventLog.create(settings.event_log_path, 4).close()
    server = AmqpServer(
        EndpointConfig(
            event_log=settings.event_log_path,
            eventhub_name=settings.eventhub_name,
            port=0,
            policy=ConnectionPolicy(),
        )
    )
    loop = asyncio.new_event_loop()
    port = loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    azure = settings.override(
        env="dev",
        eventhub_connection_string=eventhub_connection_string(port, settings.eventhub_name, None),
        database_url=migrated_database_url,
        blob_connection_string=blob_connection_string,
        consumer_group="function",
    )
    yield azure
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def _write_host_checkpoints(settings: Settings, checkpoints: dict[str, int]) -> None:
    """What the Functions host writes after a batch: the SDK's BlobCheckpointStore layout."""
    from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore
    from azure.storage.blob import ContainerClient

    container = ContainerClient.from_connection_string(
        str(settings.blob_connection_string), FUNCTIONS_CHECKPOINT_CONTAINER
    )
    if not container.exists():
        container.create_container()
    namespace = str(settings.eventhub_connection_string).split("sb://", 1)[1].split(";", 1)[0]
    store = BlobCheckpointStore.from_connection_string(
        str(settings.blob_connection_string), FUNCTIONS_CHECKPOINT_CONTAINER
    )
    for partition_id, sequence_number in checkpoints.items():
        store.update_checkpoint(
            {
                "fully_qualified_namespace": namespace,
                "eventhub_name": settings.eventhub_name,
                "consumer_group": settings.consumer_group,
                "partition_id": partition_id,
                "sequence_number": sequence_number,
                "offset": str(sequence_number * 100),
            }
        )


def test_eventhub_lag_counts_from_the_database_and_shows_the_hosts_checkpoint_blobs(
    eventhub_settings: Settings,
) -> None:
    settings = eventhub_settings
    with closing(open_publisher(settings, HubTarget.EVENTHUB)) as publisher:
        publisher.publish([OutgoingEvent(b"%d" % n, partition_id=str(n % 2)) for n in range(20)])
    _write_host_checkpoints(settings, {"0": 4, "1": 9})  # partition 1 fully delivered, 0 half
    with psycopg.connect(str(settings.database_url), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO partition_checkpoints (consumer_group, partition_id, last_sequence_number) "
            "VALUES ('function', '0', 2), ('function', '1', 9)"
        )
    request = HealthRequest(
        checks=(CheckName.HUB, CheckName.LAG, CheckName.FRESHNESS), thresholds={"lag_sample_seconds": 0}
    )

    report = run_checks(settings, request)

    hub, lag, freshness = report.checks
    assert (hub.status, hub.details["target"], hub.details["partitions"]) == (CheckStatus.OK, "eventhub", 4)
    assert lag.details["checkpoint_source"] == "database"
    by_partition = {row["partition_id"]: row for row in lag.details["partitions"]}
    assert (
        by_partition["0"]["host_checkpoint"],
        by_partition["0"]["committed"],
        by_partition["0"]["lag"],
    ) == (
        4,
        2,
        7,
    )
    assert (by_partition["1"]["host_checkpoint"], by_partition["1"]["lag"]) == (9, 0)
    assert (by_partition["2"]["lag"], by_partition["3"]["lag"]) == (0, 0)  # empty partitions
    assert lag.details["lag"] == 7
    # Event 3 of partition 0 (the first not committed) was enqueued moments ago, as the SDK reports.
    assert freshness.details["partition_id"] == "0"
    assert 0 <= freshness.details["oldest_wait_seconds"] < 60

    # Without the database, the host's blobs are what lag is counted from.
    offline = run_checks(
        settings.override(database_url=f"postgresql://postgres@127.0.0.1:1/{uuid.uuid4().hex}"), request
    )
    lag = offline.checks[1]
    assert (lag.status, lag.details["checkpoint_source"], lag.details["lag"]) == (CheckStatus.WARN, "hub", 5)

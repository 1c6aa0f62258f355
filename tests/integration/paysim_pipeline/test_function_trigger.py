"""The Function app's entry point, invoked through azure.functions exactly as the Python worker does:
the runtime's batch (collection_bytes) and trigger metadata decoded by the Event Hubs trigger converter,
then the user function the app registered, called with the decoded events."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from azure.functions import meta
from azure.functions.eventhub import EventHubTriggerConverter

FUNCTION_DIR = Path(__file__).resolve().parents[3] / "function"


@pytest.fixture
def function_app(monkeypatch: pytest.MonkeyPatch, config) -> Iterator[object]:
    """A freshly imported app module (as a worker starts), configured by app settings the way the
    Functions host passes them."""
    import payment_events

    spec = importlib.util.spec_from_file_location("function_app", FUNCTION_DIR / "function_app.py")
    assert spec is not None
    assert spec.loader is not None
    function_app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(function_app)

    for name, value in {
        "PAYSIM_DATABASE_URL": config.database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": config.blob_connection_string,
        "PAYSIM_RAW_EVENTS_CONTAINER": config.raw_events_container,
        "PAYSIM_EVENTHUB_NAME": "payments",
        "PAYSIM_CONSUMER_GROUP": "pipeline",
    }.items():
        monkeypatch.setenv(name, value)
    yield function_app
    payment_events.close_processor()


def _runtime_invocation(bodies: list[bytes], first_sequence_number: int, partition_id: str) -> list[object]:
    """The events the worker hands the function for one batch: decoded from the host's payload."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # .NET writes seven digits
    system_properties = [
        {
            "SequenceNumber": first_sequence_number + index,
            "Offset": str(1024 * (first_sequence_number + index)),
            "PartitionKey": f"c{index:07d}",
            "EnqueuedTimeUtc": now,
        }
        for index in range(len(bodies))
    ]
    metadata = {
        "SystemPropertiesArray": meta.Datum(json.dumps(system_properties), "json"),
        "PartitionContext": meta.Datum(
            json.dumps(
                {
                    "ConsumerGroup": "pipeline",
                    "EventHubName": "payments",
                    "FullyQualifiedNamespace": "evhns-paysim-dev.servicebus.windows.net",
                    "PartitionId": partition_id,
                }
            ),
            "json",
        ),
        "PropertiesArray": meta.Datum(
            json.dumps(
                [
                    {"run_id": "run-fn", "intended_ms": 1_700_000_000_000 + index}
                    for index in range(len(bodies))
                ]
            ),
            "json",
        ),
    }
    data = meta.Datum(SimpleNamespace(bytes=bodies), "collection_bytes")
    events: list[object] = EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
    return events


def _user_function(app: object) -> object:
    # Like the worker, index the app once: azure-functions refuses a second get_functions() on it.
    (function,) = [fn for fn in app.app.get_functions() if fn.get_function_name() == "process_payment_events"]
    return function


def test_the_registered_function_binds_the_event_hub_trigger(function_app) -> None:
    function = _user_function(function_app)
    # Retried indefinitely: a finite count would have the runtime checkpoint past a batch it gave up on.
    assert function.get_setting("retry_policy").get_dict_repr() == {
        "setting_name": "retry_policy",
        "strategy": "exponential_backoff",
        "max_retry_count": "-1",
        "minimum_interval": "00:00:02",
        "maximum_interval": "00:00:30",
    }
    assert "retry" not in json.loads((FUNCTION_DIR / "host.json").read_bytes())
    (binding,) = json.loads(function.get_function_json())["bindings"]
    assert binding == {
        "type": "eventHubTrigger",
        "direction": "IN",
        "name": "events",
        "connection": "EventHubConnection",
        "eventHubName": "%PAYSIM_EVENTHUB_NAME%",
        "consumerGroup": "%PAYSIM_CONSUMER_GROUP%",
        "cardinality": "MANY",
        "dataType": "BINARY",
    }


def test_the_function_processes_a_runtime_batch_end_to_end(
    function_app, generated_bodies, query, blob_names
) -> None:
    user_function = _user_function(function_app).get_user_function()
    bodies = [*generated_bodies(40), b"not json"]
    user_function(_runtime_invocation(bodies, 1000, "3"))
    user_function(_runtime_invocation(bodies, 1000, "3"))  # redelivered: skipped by the checkpoint

    assert query(
        "SELECT consumer_group, partition_id, last_sequence_number, last_offset FROM partition_checkpoints"
    ) == [("pipeline", "3", 1040, "1064960")]
    assert (
        query("SELECT sum(event_count) FROM payment_metrics_5m")[0][0]
        == query("SELECT processed FROM run_totals WHERE run_id = '20261123T000000000Z-s7'")[0][0]
    )
    assert query("SELECT source_partition, source_sequence_number, run_id FROM failed_items") == [
        ("3", 1040, "run-fn")
    ]
    assert blob_names() == [
        "payments/pipeline/partition=3/00000000000000001000-00000000000000001040.ndjson.gz"
    ]


def test_the_function_app_never_imports_paysim_cli_and_connects_to_nothing_at_import() -> None:
    probe = (
        "import sys; sys.modules['paysim_cli'] = None\n"  # any import of it raises
        "import function_app, payment_events\n"
        "assert payment_events.processor.cache_info().currsize == 0\n"
        "print(sorted(name for name, module in sys.modules.items() if module and 'paysim' in name))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=FUNCTION_DIR, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "paysim_pipeline" in result.stdout
    assert "paysim_cli" not in result.stdout

"""The issue's repro, on the real stack: poison events on partition 1, then a simulate run. Before, no
batch of the partition ever committed and `--until-drained` never returned; now each poison event is
one failed item with its exact bytes, the rest of its batch commits, the host drains, verify is exact."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
from cli_results import json_data
from typer.testing import Result

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventPublisher
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.settings import Settings
from paysim_cli.simulator.generator import EventGenerator
from paysim_cli.simulator.profile_store import load_profile

CliInvoker = Callable[..., Result]
DIMENSIONS = ("payment_type", "currency", "channel", "status")
PROFILE = Path(__file__).resolve().parents[3] / "profiles" / "default.yaml"


def _event(**fields: Any) -> dict[str, Any]:
    generator = EventGenerator(
        load_profile(PROFILE), seed=5, worker=0, run_id="poison", start_ms=int(time.time() * 1000) - 60_000
    )
    document: dict[str, Any] = orjson.loads(generator.block(0, np.zeros(1)).bodies[0])
    return {**document, "transaction_id": str(uuid.uuid4()), **fields}


def _poison(database_url: str) -> dict[str, tuple[bytes, dict[str, Any], str | None]]:
    """Body, properties, and the error code of the failed item it must become (None: processed)."""
    leap_second = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}T23:59:60.000Z"
    saturated = _event()
    saturated["merchant"] = {**saturated["merchant"], "mcc": "0001"}
    _saturate(database_url, saturated)
    return {
        "nul_in_run_id": (orjson.dumps(_event(run_id="poi\u0000son")), {}, "unstorable_text"),
        "nul_in_merchant_id": (
            orjson.dumps(_event(merchant={"id": "m\u0000", "mcc": "5411", "country": "US"})),
            {},
            "unstorable_text",
        ),
        "leap_second": (orjson.dumps(_event(event_time=leap_second)), {}, "invalid_event_time"),
        "nul_in_a_property_name": (orjson.dumps(_event()), {"na\u0000me": "va\u0000lue"}, None),
        "nul_in_the_run_id_property": (b"{}", {"run_id": "r\u0000"}, "schema_violation"),
        "overflowing_amount": (orjson.dumps(saturated), {}, "unstorable_value"),
    }


def _saturate(database_url: str, document: dict[str, Any]) -> None:
    """Store the event's payment_metrics_5m cell with the largest amount sum: its amount overflows it."""
    moment = datetime.fromisoformat(document["event_time"])
    window = datetime.fromtimestamp(moment.timestamp() // 300 * 300, UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO payment_metrics_5m (window_start, payment_type, currency, merchant_category,"
            " channel, status, event_count, amount_sum, amount_min, amount_max, fraud_count,"
            " first_event_time, last_event_time)"
            " VALUES (%s, %s, %s, '0001', %s, %s, 1, 9223372036854775807, 1, 1, 0, %s, %s)",
            (window, *(document[name] for name in DIMENSIONS), window, window),
        )


def test_poison_on_a_partition_becomes_failed_items_and_the_run_reconciles(
    cli: CliInvoker, settings: Settings, migrated_database_url: str, blob_connection_string: str
) -> None:
    env = {
        "PAYSIM_DATABASE_URL": migrated_database_url,
        "PAYSIM_BLOB_CONNECTION_STRING": blob_connection_string,
        "PAYSIM_RAW_EVENTS_CONTAINER": f"raw-{uuid.uuid4().hex[:12]}",
    }
    poison = _poison(migrated_database_url)
    with LocalEventLog.create(settings.event_log_path, settings.hub_partitions) as log:
        publisher = LocalEventPublisher(log)
        publisher.publish(
            [OutgoingEvent(body, partition_id="1", properties=props) for body, props, _ in poison.values()]
        )
    run = json_data(cli("simulate", "--count", "1000", "--rate", "20000", "--seed", "3", "--json"))

    report = json_data(cli("pipeline", "run", "--until-drained", "--batch-size", "300", "--json", env=env))
    assert (report["status"], report["events"], report["lag"]) == ("drained", run["sent"] + len(poison), 0)
    assert (report["failed_invocations"], report["retrying"]) == (0, [])

    verdict = json_data(cli("verify", run["run_id"], "--json", env=env))
    assert verdict["passed"] is True
    with psycopg.connect(migrated_database_url) as conn:
        failed = conn.execute(
            "SELECT source_sequence_number, error_code, raw_payload FROM failed_items"
            " WHERE source_partition = '1' AND run_id IS NULL ORDER BY 1"
        ).fetchall()
    expected = [(number, code, body) for number, (body, _, code) in enumerate(poison.values()) if code]
    assert [(number, code, bytes(payload)) for number, code, payload in failed] == expected

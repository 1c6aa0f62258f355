"""`paysim metrics cluster` over a raw-events archive in the real Azurite, into a real database."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from azure.storage.blob import BlobServiceClient
from typer.testing import Result

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.metrics.cluster import cluster_merchants
from paysim_cli.metrics.request import ClusterRequest
from paysim_cli.settings import Settings

CliInvoker = Callable[..., Result]
RANGE = ("--since", "2025-11-28T00:00:00Z", "--until", "2025-11-28T01:00:00Z")


def _event(
    merchant: str, amount_minor: int, *, declined: bool = False, fraud: bool = False, minute: int = 1
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "transaction_id": str(uuid.uuid4()),
        "event_time": f"2025-11-28T00:{minute:02d}:00.000Z",
        "payment_type": "card",
        "amount_minor": amount_minor,
        "currency": "USD",
        "merchant": {"id": merchant, "mcc": "5411", "country": "US"},
        "status": "declined" if declined else "approved",
        "is_fraud": fraud,
    }


def _archive(settings: Settings) -> dict[str, set[str]]:
    """Three kinds of merchant, one gzip NDJSON blob each, plus lines clustering must leave out."""
    kinds = {
        "busy_small": [_event(f"a{m}", 500) for m in range(6) for _ in range(30)],
        "rare_large": [_event(f"b{m}", 500_000) for m in range(6) for _ in range(12)],
        "declined_fraud": [
            _event(f"c{m}", 2000, declined=n % 2 == 0, fraud=n % 2 == 0) for m in range(6) for n in range(15)
        ],
    }
    noise = [
        {"body_base64": "bm90IGpzb24="},  # not JSON
        {"body": _event("a0", 500) | {"amount_minor": "500"}},  # wrong type
        {"body": _event("a0", 500) | {"payment_type": "cheque"}},  # unknown payment type
        {
            "body": _event("a1", 500, minute=61 % 60) | {"event_time": "2025-11-28T02:00:00.000Z"}
        },  # out of range
        {"body": kinds["busy_small"][0]},  # a duplicate
        *({"body": _event("rare", 100)} for _ in range(2)),  # too few events to cluster
        # `paysim health --probe` canaries: archived like any event, never a merchant's activity.
        *({"body": _event("paysim-canary", 1) | {"run_id": f"paysim-canary:{n}"}} for n in range(20)),
    ]
    container = BlobServiceClient.from_connection_string(
        str(settings.blob_connection_string)
    ).get_container_client(settings.raw_events_container)
    container.create_container()
    lines = {name: [{"body": event} for event in events] for name, events in kinds.items()} | {"noise": noise}
    for name, envelopes in lines.items():
        data = b"\n".join(orjson.dumps({"partition_id": "0", **envelope}) for envelope in envelopes) + b"\n"
        container.upload_blob(f"payments/$Default/partition=0/{name}.ndjson.gz", gzip.compress(data))
    container.close()
    return {name: {event["merchant"]["id"] for event in events} for name, events in kinds.items()}


def test_merchants_are_grouped_by_behaviour_and_stored(
    cli: CliInvoker, metrics_settings: Settings, migrated_database_url: str
) -> None:
    kinds = _archive(metrics_settings)
    args = ("metrics", "cluster", *RANGE, "-k", "3", "--database-url", migrated_database_url)
    env = {
        "PAYSIM_BLOB_CONNECTION_STRING": str(metrics_settings.blob_connection_string),
        "PAYSIM_RAW_EVENTS_CONTAINER": metrics_settings.raw_events_container,
    }
    result = cli(*args, "--json", env=env)
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)["data"]
    assert (report["blobs_read"], report["events"], report["duplicates_skipped"]) == (
        4,
        18 * 0 + 180 + 72 + 90 + 2,
        1,
    )
    assert (report["merchants"], report["merchants_below_min_events"]) == (18, 1)
    by_size = {group["cluster_id"]: group for group in report["clusters"]}
    assert [group["merchants"] for group in by_size.values()] == [6, 6, 6]

    with psycopg.connect(migrated_database_url) as conn:
        rows = conn.execute("SELECT merchant_id, cluster_id, features FROM merchant_clusters").fetchall()
    members: dict[int, set[str]] = {}
    for merchant, cluster_id, _ in rows:
        members.setdefault(cluster_id, set()).add(merchant)
    assert sorted(members.values(), key=sorted) == sorted(kinds.values(), key=sorted)
    features = {merchant: values for merchant, _, values in rows}
    assert features["c0"] == {
        "events": 15,
        "average_amount": 20.0,
        "decline_rate": 0.533333,
        "fraud_rate": 0.533333,
    }
    declining = next(group for group in report["clusters"] if group["decline_rate"] > 0.5)
    assert (declining["events"], declining["examples"]) == (90, ["c0", "c1", "c2"])

    again = cli(*args, env=env)
    assert again.exit_code == 0, again.output
    assert "18 merchants, 344 events" in again.stdout
    with psycopg.connect(migrated_database_url) as conn:
        runs = conn.execute(
            "SELECT count(DISTINCT run_at), count(DISTINCT (merchant_id, cluster_id)) FROM merchant_clusters"
        ).fetchone()
    assert runs == (2, 18)  # the same seed groups the same merchants the same way

    # Blobs written over an hour before --since cannot hold its events: they are not even read.
    later = datetime.now(UTC) + timedelta(hours=2)
    with pytest.raises(PaysimError, match=r"^0 merchants"):
        cluster_merchants(metrics_settings, ClusterRequest(since=later, until=later + timedelta(hours=1)))


def test_too_few_merchants_for_the_clusters(metrics_settings: Settings) -> None:
    with pytest.raises(PaysimError) as raised:
        cluster_merchants(metrics_settings, ClusterRequest())  # no archive yet: no container
    assert (raised.value.code, raised.value.exit_code) == ("too_few_merchants", ExitCode.FAILURE)
    assert raised.value.message.startswith("0 merchants have at least 10 events")


def test_a_range_that_is_empty_or_unreadable(cli: CliInvoker) -> None:
    result = cli("metrics", "cluster", "--since", "2025-11-28T01:00:00Z", "--until", "2025-11-28T00:00:00Z")
    assert result.exit_code == ExitCode.USAGE
    assert "is not before --until" in result.stderr
    result = cli("metrics", "cluster", "--since", "yesterday")
    assert result.exit_code == ExitCode.USAGE
    assert "RFC 3339" in result.output


def test_blob_storage_unconfigured_or_unreachable(metrics_settings: Settings) -> None:
    settings = metrics_settings.model_copy(update={"blob_connection_string": None})
    with pytest.raises(PaysimError) as raised:
        cluster_merchants(settings, ClusterRequest())
    assert (raised.value.code, raised.value.exit_code) == ("blob_not_configured", ExitCode.UNAVAILABLE)
    assert raised.value.hint is not None
    assert raised.value.hint.startswith("run `paysim local up`")
    unreachable = metrics_settings.override(
        blob_connection_string="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;"
    )
    with pytest.raises(PaysimError) as raised:
        cluster_merchants(unreachable, ClusterRequest())
    assert (raised.value.code, raised.value.exit_code) == ("blob_unavailable", ExitCode.UNAVAILABLE)
    assert "a2V5" not in raised.value.message

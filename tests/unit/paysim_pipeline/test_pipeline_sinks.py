"""Sink set-up that needs no server: connection parameters, Entra ID tokens, blob clients, NDJSON lines."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
import pytest

from paysim_pipeline.config import PipelineConfig
from paysim_pipeline.events import IncomingEvent
from paysim_pipeline.sinks import postgres
from paysim_pipeline.sinks.blob import RawEventArchive, blob_name, encode_raw_events


@pytest.mark.parametrize(
    ("url", "sslmode"),
    [
        ("postgresql://postgres@127.0.0.1:5432/paysim", None),
        ("postgresql://fn@psql-paysim-dev.postgres.database.azure.com/paysim", "require"),
        ("postgresql://fn@db.example.com/paysim?sslmode=verify-full", "verify-full"),
    ],
)
def test_remote_hosts_require_tls_unless_the_url_says_otherwise(url: str, sslmode: str | None) -> None:
    params = postgres.Database(url, "password")._params
    assert params.get("sslmode") == sslmode
    assert params["application_name"] == "paysim-pipeline"


def test_entra_tokens_are_reused_until_shortly_before_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    # Entra ID cannot run here: a stand-in credential hands out numbered tokens.
    issued: list[str] = []
    clock = {"now": 1_000_000.0}

    class Credential:
        def get_token(self, scope: str) -> SimpleNamespace:
            assert scope == "https://ossrdbms-aad.database.windows.net/.default"
            issued.append(f"token-{len(issued)}")
            return SimpleNamespace(token=issued[-1], expires_on=clock["now"] + 3600)

    monkeypatch.setattr("azure.identity.DefaultAzureCredential", Credential)
    monkeypatch.setattr(postgres.time, "time", lambda: clock["now"])
    password = postgres.EntraPassword()
    assert password() == password() == "token-0"
    clock["now"] += 3600 - 299
    assert password() == "token-1"


def test_the_blob_archive_uses_the_account_url_with_an_identity() -> None:
    config = PipelineConfig(
        database_url="postgresql://x@127.0.0.1/y", blob_account_url="https://stpaysim.blob.core.windows.net/"
    )
    archive = RawEventArchive.from_config(config)
    try:
        assert archive.container_url == "https://stpaysim.blob.core.windows.net/raw-events"
    finally:
        archive.close()


def test_raw_event_lines_keep_coordinates_and_bodies() -> None:
    enqueued = datetime(2026, 11, 23, 12, 0, 0, 123000, tzinfo=UTC)
    events = [
        IncomingEvent(b'{"a": 1}', 7, 4096, enqueued, "c1", {"run_id": "r"}),
        IncomingEvent(b'{\n  "b": [1,\n 2]\n}', 8),
        IncomingEvent(b"\xff\xfe", 9),
    ]
    lines = gzip.decompress(encode_raw_events(events, "3", undecodable={2})).splitlines()
    first, second, third = (orjson.loads(line) for line in lines)
    assert first == {
        "partition_id": "3",
        "sequence_number": 7,
        "offset": 4096,
        "enqueued_time": "2026-11-23T12:00:00.123000Z",
        "partition_key": "c1",
        "properties": {"run_id": "r"},
        "body": {"a": 1},
    }
    assert second["body"] == {"b": [1, 2]}
    assert third["body_base64"] == "//4="
    assert (
        blob_name("evh", "$Default", "3", 7, 9)
        == "evh/$Default/partition=3/00000000000000000007-00000000000000000009.ndjson.gz"
    )

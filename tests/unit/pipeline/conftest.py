"""Host fixtures: the test Function app, what it recorded, a local log, and publishing into it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.local_transport import LocalEventPublisher
from paysim_cli.hub.transport import OutgoingEvent
from paysim_cli.settings import Settings

FIXTURE_APP = Path(__file__).resolve().parents[2] / "fixtures" / "function_app"


@pytest.fixture
def fixture_app() -> Path:
    """The test Function app's directory (tests/fixtures/function_app)."""
    return FIXTURE_APP


class Recording:
    """The JSON lines the test app writes: one per successful invocation, and one per attempt."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self, path: Path) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []

    @property
    def batches(self) -> list[dict[str, Any]]:
        return self._read(self.path)

    @property
    def attempts(self) -> list[dict[str, Any]]:
        return self._read(Path(f"{self.path}.attempts"))

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for batch in self.batches for event in batch["events"]]


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recording:
    path = tmp_path / "recording.jsonl"
    monkeypatch.setenv("RECORDING_FILE", str(path))
    return Recording(path)


@pytest.fixture
def host_settings(settings: Settings) -> Settings:
    """Local settings with a local log; the database and blob settings only have to be set, not reachable
    (the test app uses neither)."""
    LocalEventLog.create(settings.event_log_path, settings.hub_partitions).close()
    return settings.override(
        database_url="postgresql://postgres@127.0.0.1:1/unused",
        blob_connection_string="UseDevelopmentStorage=true",
    )


Publish = Callable[[Sequence[OutgoingEvent]], None]


@pytest.fixture
def publish(host_settings: Settings) -> Publish:
    def send(events: Sequence[OutgoingEvent]) -> None:
        publisher = LocalEventPublisher(LocalEventLog.open(host_settings.event_log_path))
        try:
            publisher.publish(events)
        finally:
            publisher.close()

    return send

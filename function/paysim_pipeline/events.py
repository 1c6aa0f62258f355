"""One event as the processor receives it: its body and the Event Hubs coordinates it came with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """An event of a partition's batch; `properties` are its application properties (run_id, ...)."""

    body: bytes
    sequence_number: int
    offset: int | str | None = None
    enqueued_time: datetime | None = None
    partition_key: str | None = None
    properties: Mapping[str, object] = field(default_factory=dict)

    def run_id(self) -> str | None:
        """The `run_id` application property a simulate run sets, when present."""
        value = self.properties.get("run_id")
        return value if isinstance(value, str) and value else None

"""One event as the processor receives it: its body and the Event Hubs coordinates it came with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from paysim_pipeline.storable import is_storable

# The schema's bound on run_id; a longer property is not a simulate run's (failed_items.run_id is indexed).
MAX_RUN_ID_CHARS = 64


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
        """The `run_id` application property a simulate run sets, when present and storable as it is."""
        value = self.properties.get("run_id")
        if isinstance(value, str) and 0 < len(value) <= MAX_RUN_ID_CHARS and is_storable(value):
            return value
        return None

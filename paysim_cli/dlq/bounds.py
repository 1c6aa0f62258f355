"""The DLQ's limits and choices, light enough for the command tree to import (its help shows them)."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum

from paysim_pipeline.rejection import ErrorCode, Stage

MAX_PAGE = 1000
DEFAULT_PAGE = 50
MAX_IDS = 100_000
MAX_BATCH_SIZE = 5000
DEFAULT_BATCH_SIZE = 500
MAX_RATE = 1_000_000.0
MAX_WORKERS = 8
# Two batches in flight: one worker's statements run while the other decodes and validates (28 %
# faster on the shared 2-core machine under moderate load; no slower under heavy load: ADR 0013).
DEFAULT_WORKERS = 2
MAX_REASON_CHARS = 1000
# A replay of more items than this needs --yes (as does any replay of discarded items).
CONFIRM_THRESHOLD = 100

# A --via hub replay of an item too large to be an event fails it at this stage (event_too_large).
PUBLISH_STAGE = "publish"
KNOWN_STAGES = tuple(dict.fromkeys([*(str(stage) for stage in Stage), PUBLISH_STAGE]))
KNOWN_CODES = tuple(str(code) for code in ErrorCode)

DURATION = re.compile(r"^(?P<amount>\d+)(?P<unit>[smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class ItemStatus(StrEnum):
    PENDING = "pending"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class Route(StrEnum):
    PROCESSOR = "processor"  # through paysim_pipeline here, in the item's own transaction
    HUB = "hub"  # back onto the event hub, for the deployed Function to process


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `45s`, `2w`."""
    match = DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit s, m, h, d or w, e.g. 30d")
    return timedelta(seconds=int(match["amount"]) * _UNIT_SECONDS[match["unit"]])

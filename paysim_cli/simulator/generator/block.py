"""What the generator produces: a block of events (bodies and the columns reconciliation counts)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]

BLOCK_EVENTS = 2048
MAX_AMOUNT_MINOR = 10**13


class EventKind(IntEnum):
    VALID = 0
    MALFORMED = 1
    DUPLICATE = 2


class MalformedKind(IntEnum):
    """How an injected malformed event breaks the schema; each one fails validation on its own."""

    NOT_JSON = 0
    MISSING_FIELD = 1
    WRONG_TYPE = 2
    BAD_EVENT_TIME = 3
    UNKNOWN_ENUM = 4


@dataclass(slots=True)
class EventBlock:
    """Events [first_index, first_index + len) of one worker: bodies to send and the columns to count."""

    first_index: int
    intended: FloatArray  # intended send time, seconds since the run started
    bodies: list[bytes]
    partition_keys: list[str | None]
    event_ms: IntArray
    payment_type: IntArray  # codes: positions in the schema's enums (currency: in the currency table)
    currency: IntArray
    mcc: IntArray
    channel: IntArray
    status: IntArray
    amount_minor: IntArray
    fraud: IntArray  # 0, or 1 + position in the schema's fraud_scenario enum
    kind: IntArray  # EventKind
    malformed_kind: IntArray  # MalformedKind, -1 for well-formed events
    source: IntArray  # for a duplicate, the position of the event it repeats; else its own position
    delivered: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.bodies)

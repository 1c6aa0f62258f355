"""Payment events, generated with numpy in fixed-size blocks and serialised with orjson: the block
model (block), reference data (reference), vectorised draws (sampling), JSON encoding and malformed
variants (encoding), and the generator with its fraud scenarios and faults (core)."""

from paysim_cli.simulator.generator.block import (
    BLOCK_EVENTS,
    MAX_AMOUNT_MINOR,
    EventBlock,
    EventKind,
    MalformedKind,
)
from paysim_cli.simulator.generator.core import (
    ACCOUNT_TAKEOVER_CHANNELS,
    ACCOUNT_TAKEOVER_DECLINE_REASONS,
    CARD_TESTING_DECLINE_REASONS,
    EventGenerator,
)
from paysim_cli.simulator.generator.reference import BIN_RANGES, CARD_BRAND_SHARE
from paysim_cli.simulator.request import PartitionKeyField

__all__ = [
    "ACCOUNT_TAKEOVER_CHANNELS",
    "ACCOUNT_TAKEOVER_DECLINE_REASONS",
    "BIN_RANGES",
    "BLOCK_EVENTS",
    "CARD_BRAND_SHARE",
    "CARD_TESTING_DECLINE_REASONS",
    "MAX_AMOUNT_MINOR",
    "EventBlock",
    "EventGenerator",
    "EventKind",
    "MalformedKind",
    "PartitionKeyField",
]

"""Logging: the steps a command takes go to stderr with --verbose, secrets masked, expected SDK noise quiet.

Services log with `logging.getLogger(__name__)`: INFO for a step (connecting, applying a migration,
starting a worker), DEBUG for its detail. Without --verbose only warnings and errors show; with
--quiet only errors. Worker processes call `configure_worker_logging` to get the same rules.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from paysim_cli.secrets import MaskingFormatter

PAYSIM_LOGGERS = ("paysim_cli", "paysim_pipeline")
HANDLER_NAME = "paysim"
# Warnings the Event Hubs SDK logs for what is routine here: when consumers rebalance partitions, a
# new owner's receiver takes over the link (amqp:link:stolen) and the old one's receive fails once.
EXPECTED_SDK_WARNINGS = ("amqp:link:stolen", "LinkStolen")
# Libraries whose failures paysim reports itself, as one error with a hint: their own logging repeats
# them as a raw dump (python_terraform logs terraform's whole stderr as a WARNING).
REPORTED_ELSEWHERE = ("python_terraform",)


class ExpectedWarnings(logging.Filter):
    """Demotes the SDK's expected warnings to DEBUG: shown with --verbose, dropped otherwise."""

    def __init__(self, *, keep: bool) -> None:
        super().__init__()
        self.keep = keep

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING or not record.name.startswith("azure."):
            return True
        message = record.getMessage()
        if not any(marker in message for marker in EXPECTED_SDK_WARNINGS):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.keep


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (test runners swap it per invocation)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass  # always the current sys.stderr


def configure_logging(*, verbose: bool = False, quiet: bool = False, prefix: str = "") -> None:
    """One stderr handler on the root logger (replacing an earlier one), at the level asked for."""
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if handler.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(MaskingFormatter(f"{prefix}%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ExpectedWarnings(keep=verbose))
    root.addHandler(handler)
    # Third-party libraries stay at WARNING even with --verbose: the SDKs' INFO is a flood.
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    for name in PAYSIM_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in REPORTED_ELSEWHERE:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.CRITICAL)


def configure_worker_logging(worker: str, *, verbose: bool = False) -> None:
    """A worker process's logging: the parent's rules, each line naming the worker."""
    configure_logging(verbose=verbose, prefix=f"{worker}: ")

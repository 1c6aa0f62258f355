"""Schema migrations for the pipeline's PostgreSQL: versioned SQL pairs, history, lock, drift, verify."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from paysim_cli.migrations.runtime import DEFAULT_LOCK_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from paysim_cli.migrations.engine import downgrade, new, status, upgrade, verify

__all__ = ["DEFAULT_LOCK_TIMEOUT_SECONDS", "downgrade", "new", "status", "upgrade", "verify"]


def __getattr__(name: str) -> object:
    # The operations load on first use, so `paysim --help` does not pay for the engine's imports.
    if name in __all__:
        return getattr(importlib.import_module("paysim_cli.migrations.engine"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

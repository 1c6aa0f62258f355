"""PostgreSQL for the checks: how they connect, and the one connection a health run's checks share.

Five checks read PostgreSQL (database, migrations, dead_letter, lag, freshness). One connection for
all of them costs one handshake (TLS and SCRAM on Azure, a server process either way) instead of
five; psycopg serialises their queries on it, each a few milliseconds.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from paysim_cli.errors import PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.db import Connection


def health_connection(settings: Settings, timeout_seconds: float) -> Connection:
    """A connection for the checks: autocommit, and a connect timeout within the check's."""
    import math

    from paysim_cli.db import connect

    return connect(
        settings,
        autocommit=True,
        application_name="paysim health",
        connect_timeout=max(1, math.ceil(timeout_seconds / 2)),
    )


class SharedConnection:
    """Opened by the first check that asks; a failure to connect is kept, and every check that asks
    gets it (so one unreachable server costs one connect time-out, not one per check). Each of its
    `users` checks releases it when done, and the last one closes it: a check still running past its
    time-out keeps it open until it ends."""

    def __init__(self, settings: Settings, timeout_seconds: float, *, users: int) -> None:
        self._settings, self._timeout = settings, timeout_seconds
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._error: PaysimError | None = None
        self._users = users

    def get(self) -> Connection:
        with self._lock:
            if self._connection is None and self._error is None:
                try:
                    self._connection = health_connection(self._settings, self._timeout)
                except PaysimError as error:
                    self._error = error
            if self._error is not None:
                kept = self._error  # raised anew: one exception object must not travel in two threads
                raise PaysimError(kept.code, kept.message, kept.hint, exit_code=kept.exit_code)
            assert self._connection is not None
            return self._connection

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users <= 0 and self._connection is not None:
                self._connection.close()
                self._connection = None

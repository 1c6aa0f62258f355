"""What bench scripts share: a throwaway local stack (embedded PostgreSQL and Azurite), migrated."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from paysim_cli.local.azurite import Azurite
from paysim_cli.local.postgres import EmbeddedPostgres
from paysim_cli.local.processes import free_port
from paysim_cli.local.state import azurite_connection_string, ensure_postgres_password
from paysim_cli.migrations import upgrade
from paysim_cli.settings import Settings


@dataclass(frozen=True)
class BenchStack:
    settings: Settings  # its database URL and blob connection string, state in the temporary directory
    postgres_pid: int
    azurite_pid: int

    @property
    def database_url(self) -> str:
        return str(self.settings.database_url)

    @property
    def blob_connection_string(self) -> str:
        return str(self.settings.blob_connection_string)


@contextmanager
def temporary_stack() -> Iterator[BenchStack]:
    """PostgreSQL (with a password, as `paysim local up` sets one) and Azurite on free ports in a
    temporary directory, the migrations applied; both stopped and the directory removed after."""
    with tempfile.TemporaryDirectory(prefix="paysim-bench-") as directory:
        root = Path(directory)
        postgres = EmbeddedPostgres(root / "postgres", ensure_postgres_password(root))
        postgres_state = postgres.start(free_port())
        azurite_state = Azurite(root / "azurite").start(free_port())
        try:
            settings = Settings(
                state_dir=root / "state",
                database_url=postgres.url(postgres_state.port),
                blob_connection_string=azurite_connection_string(azurite_state.port),
            )
            upgrade(settings)
            yield BenchStack(settings, postgres_state.pid, azurite_state.pid)
        finally:
            Azurite.stop(azurite_state)
            postgres.stop()

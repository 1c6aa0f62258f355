"""The embedded PostgreSQL's password rules, on the session's real cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.local.postgres import PG_HBA, EmbeddedPostgres, accepts_without_password


def test_the_session_cluster_wants_its_password(
    stack_dir: Path, postgres_port: int, postgres_password: str
) -> None:
    assert not accepts_without_password(postgres_port)
    assert (stack_dir / "postgres" / "data" / "pg_hba.conf").read_text(encoding="utf-8") == PG_HBA
    EmbeddedPostgres(stack_dir / "postgres", postgres_password).require_password(postgres_port)  # a no-op


def test_a_wrong_password_is_one_clear_error(
    stack_dir: Path, postgres_port: int, postgres_password: str
) -> None:
    with pytest.raises(PaysimError) as raised:
        EmbeddedPostgres(stack_dir / "postgres", f"not-{postgres_password}").ensure_database(postgres_port)
    error = raised.value
    assert (error.code, error.exit_code) == ("postgres_auth_failed", ExitCode.AUTH)
    assert error.message == (
        f"the local PostgreSQL on port {postgres_port} refused paysim: "
        'connection failed: connection to server at "127.0.0.1", port '
        f'{postgres_port} failed: FATAL:  password authentication failed for user "postgres"'
    )
    assert error.hint is not None
    assert "local reset --yes" in error.hint

"""--verbose logs the steps a command takes; expected SDK warnings stay quiet; secrets stay masked."""

from __future__ import annotations

import logging

import pytest

from paysim_cli.errors import ExitCode
from paysim_cli.logs import ExpectedWarnings, configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> None:
    yield
    configure_logging()


def _record(name: str, message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_link_stolen_during_rebalancing_is_debug_detail_not_a_warning() -> None:
    stolen = _record(
        "azure.eventhub._eventprocessor.event_processor",
        "An error occurred while receiving. The exception is AMQPLinkError('amqp:link:stolen').",
    )
    assert ExpectedWarnings(keep=False).filter(stolen) is False
    assert stolen.levelno == logging.DEBUG
    kept = _record("azure.eventhub._consumer", "LinkStolen")
    assert ExpectedWarnings(keep=True).filter(kept) is True
    other = _record("azure.eventhub._consumer", "the connection dropped")
    assert ExpectedWarnings(keep=False).filter(other) is True
    assert other.levelno == logging.WARNING


def test_verbose_logs_each_step_to_stderr_with_secrets_masked(cli) -> None:
    result = cli("-v", "db", "status", env={"PAYSIM_DATABASE_URL": "postgresql://u:topsecret@127.0.0.1:1/x"})
    assert result.exit_code == ExitCode.UNAVAILABLE  # nothing listens on port 1
    assert result.stdout == ""  # logs go to stderr only
    assert "INFO paysim_cli.settings: environment local (from default)" in result.stderr
    assert "DEBUG paysim_cli.settings: setting database_url from env PAYSIM_DATABASE_URL" in result.stderr
    assert "INFO paysim_cli.db: connecting to PostgreSQL postgresql://u:****@127.0.0.1:1/x" in result.stderr
    assert "topsecret" not in result.stderr


def test_without_verbose_only_the_error(cli) -> None:
    result = cli("db", "status", env={"PAYSIM_DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.stderr.splitlines()[0].startswith("error [database_unreachable]")
    assert len(result.stderr.splitlines()) == 2


def test_quiet_drops_progress_lines_but_not_the_result(cli, tmp_path) -> None:
    loud = cli("simulate", "--count", "500", "--rate", "1000", "--output", str(tmp_path / "loud.ndjson"))
    quiet = cli(
        "--quiet", "simulate", "--count", "500", "--rate", "1000", "--output", str(tmp_path / "q.ndjson")
    )
    assert loud.exit_code == quiet.exit_code == 0
    assert "achieved" in loud.stderr  # the progress line a person gets without a terminal
    assert quiet.stderr == ""
    assert "sent / planned" in quiet.stdout

"""`paysim local` against the real parts: embedded PostgreSQL, Azurite from npm, the SQLite event log."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil
import psycopg
import pytest

from paysim_cli.errors import ExitCode
from paysim_cli.local.postgres import PG_HBA, SERVICE_USER, EmbeddedPostgres, accepts_without_password
from paysim_cli.local.state import (
    amqp_sas_key,
    eventhub_connection_string,
    load_state,
    local_stack_settings,
    postgres_password,
)


@pytest.fixture
def stack(cli, state_dir: Path) -> Iterator[object]:
    """The CLI, with the stack under this test's state directory stopped afterwards whatever happens."""
    yield cli
    cli("local", "down")


def components(result) -> dict[str, dict[str, object]]:
    assert result.exit_code == 0, result.output
    return {c["name"]: c for c in orjson.loads(result.stdout)["data"]["components"]}


def test_up_twice_status_down_up(stack, state_dir: Path) -> None:
    first = components(stack("local", "up", "--json"))
    assert {name: c["healthy"] for name, c in first.items()} == {
        "postgres": True,
        "azurite": True,
        "hub": True,
        "amqp": True,
    }
    second = components(stack("local", "up", "--json"))
    assert second["postgres"]["pid"] == first["postgres"]["pid"]
    assert second["azurite"]["pid"] == first["azurite"]["pid"]
    assert second["amqp"]["pid"] == first["amqp"]["pid"]

    status = components(stack("local", "status", "--json"))
    assert all(c["healthy"] for c in status.values())
    assert status["hub"]["detail"].startswith("4 partitions")

    # Other commands find the stack with no configuration at all, its password masked where shown.
    shown = stack("config", "show", "--json")
    rows = {row["name"]: row for row in orjson.loads(shown.stdout)["data"]["settings"]}
    assert rows["database_url"]["source"] == "local stack"
    password = postgres_password(state_dir)
    assert password
    assert password not in shown.stdout
    assert (
        rows["database_url"]["value"]
        == f"postgresql://postgres:****@127.0.0.1:{first['postgres']['address'].split(':')[1]}/paysim"
    )
    with psycopg.connect(local_stack_settings(state_dir)["database_url"]) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("paysim",)

    # The Event Hubs half of paysim reaches the endpoint through the SDK with the stack's connection
    # string, signed with the stack's own key (masked where shown); the emulator's placeholder key is refused.
    key = amqp_sas_key(state_dir)
    assert key
    assert key not in shown.stdout
    port = load_state(state_dir).amqp.port
    assert local_stack_settings(state_dir)["eventhub_connection_string"] == eventhub_connection_string(
        port, "payments", key
    )
    hub = stack("hub", "info", "--transport", "eventhub", "--json")
    assert hub.exit_code == 0, hub.output
    assert [p["partition_id"] for p in orjson.loads(hub.stdout)["data"]["partitions"]] == ["0", "1", "2", "3"]
    placeholder = eventhub_connection_string(port, "payments", None)
    refused = stack(
        "hub",
        "info",
        "--transport",
        "eventhub",
        "--json",
        env={"PAYSIM_EVENTHUB_CONNECTION_STRING": placeholder},
    )
    assert refused.exit_code == ExitCode.AUTH, refused.output
    assert orjson.loads(refused.stdout)["error"]["code"] == "eventhub_unauthorized"
    assert rows["eventhub_connection_string"]["source"] == "local stack"

    down = components(stack("local", "down", "--json"))
    assert not down["postgres"]["healthy"]
    assert not down["azurite"]["healthy"]
    assert not down["amqp"]["healthy"]
    assert not psutil.pid_exists(int(first["amqp"]["pid"])) or (
        psutil.Process(int(first["amqp"]["pid"])).status() == psutil.STATUS_ZOMBIE
    )
    assert not psutil.pid_exists(int(first["azurite"]["pid"])) or (
        psutil.Process(int(first["azurite"]["pid"])).status() == psutil.STATUS_ZOMBIE
    )

    again = components(stack("local", "up", "--json"))
    assert all(c["healthy"] for c in again.values())
    human = stack("local", "status")
    assert "postgres" in human.stdout
    assert "yes" in human.stdout


def test_up_recovers_from_a_crash(stack, state_dir: Path) -> None:
    first = components(stack("local", "up", "--json"))
    for name in ("postgres", "azurite", "amqp"):
        os.kill(int(first[name]["pid"]), signal.SIGKILL)
    psutil.wait_procs([psutil.Process(int(first[name]["pid"])) for name in ("azurite", "amqp")], timeout=5)
    assert (state_dir / "postgres" / "data" / "postmaster.pid").exists()

    recovered = components(stack("local", "up", "--json"))
    assert all(c["healthy"] for c in recovered.values())
    assert recovered["postgres"]["pid"] != first["postgres"]["pid"]
    assert recovered["amqp"]["pid"] != first["amqp"]["pid"]


def test_amqp_port_zero_picks_a_free_one_and_a_busy_configured_one_conflicts(stack, state_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = components(stack("local", "up", "--json", env={"PAYSIM_AMQP_PORT": "0"}))
        assert started["amqp"]["healthy"]
        stack("local", "down")
        refused = stack("local", "up", env={"PAYSIM_AMQP_PORT": str(port)})
    assert refused.exit_code == ExitCode.CONFLICT
    assert "so the AMQP endpoint cannot listen on it" in refused.stderr


def test_port_in_use_is_one_line(stack) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = stack("local", "up", env={"PAYSIM_POSTGRES_PORT": str(port)})
    assert result.exit_code == ExitCode.CONFLICT
    assert result.stderr.splitlines()[0] == (
        f"error [port_in_use]: port {port} on 127.0.0.1 is already in use, so PostgreSQL cannot listen on it"
    )
    assert "PAYSIM_POSTGRES_PORT" in result.stderr


def test_missing_node_is_one_line(stack, tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    result = stack("--json", "local", "up", env={"PATH": str(empty_bin)})
    assert result.exit_code == ExitCode.UNAVAILABLE
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "node_not_found"
    assert "Node.js" in error["hint"]


def test_reset_needs_yes_then_wipes(stack, state_dir: Path) -> None:
    components(stack("local", "up", "--json"))
    refused = stack("local", "reset")
    assert refused.exit_code == ExitCode.ABORTED
    assert "--yes" in refused.stderr
    assert (state_dir / "postgres" / "data" / "PG_VERSION").exists()

    wiped = components(stack("local", "reset", "--yes", "--json"))
    assert not any(c["healthy"] for c in wiped.values())
    assert not (state_dir / "postgres").exists()
    assert load_state(state_dir).postgres is None


def test_status_without_a_stack_exits_4_with_the_report(cli) -> None:
    result = cli("local", "status", "--json")
    assert result.exit_code == ExitCode.UNAVAILABLE
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "stack_unhealthy"
    status = {component["name"]: component for component in error["report"]["components"]}
    assert status["postgres"]["detail"] == "not running; run `paysim local up`"
    assert status["hub"]["healthy"] is False
    assert status["amqp"]["detail"] == "not running; run `paysim local up`"
    people = cli("local", "status")
    assert "not running; run `paysim local up`" in people.stdout  # the table, then the error
    assert people.stderr.startswith("error [stack_unhealthy]: postgres: not running")


def test_a_failed_up_stops_what_it_started(stack, state_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # PostgreSQL starts first; Azurite then finds its port taken.
        result = stack("local", "up", env={"PAYSIM_AZURITE_PORT": str(port)})
    assert result.exit_code == ExitCode.CONFLICT
    assert "so Azurite cannot listen on it" in result.stderr
    assert not (state_dir / "postgres" / "data" / "postmaster.pid").exists()  # PostgreSQL was stopped
    assert load_state(state_dir).postgres is None
    # What was already running before a failed `up` keeps running.
    components(stack("local", "up", "--json"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        refused = stack("local", "up", env={"PAYSIM_AMQP_PORT": str(busy.getsockname()[1])})
    assert refused.exit_code == ExitCode.OK  # the endpoint is up already: nothing to start, nothing refused
    assert (state_dir / "postgres" / "data" / "postmaster.pid").exists()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_only_the_owner_gets_in(stack, state_dir: Path) -> None:
    """The local PostgreSQL wants the generated password; the state directory and its secrets are
    its owner's alone."""
    up = components(stack("local", "up", "--json"))
    port = int(str(up["postgres"]["address"]).rsplit(":", 1)[1])
    assert not accepts_without_password(port)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"postgresql://postgres:guessed@127.0.0.1:{port}/paysim", connect_timeout=5)
    password = postgres_password(state_dir)
    assert password is not None
    assert len(password) >= 32
    with psycopg.connect(f"postgresql://postgres:{password}@127.0.0.1:{port}/paysim") as conn:
        method = conn.execute(
            "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'postgres'"
        )
        assert method.fetchone() == (True,)
        rules = conn.execute("SELECT DISTINCT auth_method FROM pg_hba_file_rules").fetchall()
        assert rules == [("scram-sha-256",)]

    secrets = state_dir / "secrets"
    assert (_mode(secrets), _mode(secrets / "postgres_password"), _mode(state_dir / "stack.json")) == (
        0o700,
        0o600,
        0o600,
    )
    if os.geteuid() == 0:  # PostgreSQL runs as its service user, which must enter (not list) the directory
        assert _mode(state_dir) == 0o710
        assert state_dir.stat().st_gid == pwd.getpwnam(SERVICE_USER).pw_gid
    else:
        assert _mode(state_dir) == 0o700

    # Reports and errors mask it like every other secret.
    migrated = stack("db", "migrate", "--dry-run", "--json")
    assert migrated.exit_code == 0, migrated.output
    assert (
        orjson.loads(migrated.stdout)["data"]["database"]
        == f"postgresql://postgres:****@127.0.0.1:{port}/paysim"
    )
    assert password not in migrated.output
    refused = stack(
        "db",
        "status",
        "--json",
        "--database-url",
        f"postgresql://postgres:x{password}@127.0.0.1:{port}/paysim",
    )
    assert refused.exit_code == ExitCode.AUTH
    assert "password authentication failed" in orjson.loads(refused.stdout)["error"]["message"]
    assert password not in refused.output


def _trust_everyone(state_dir: Path, port: int | None) -> None:
    """Turn the stack back into one from before passwords: trust authentication, no password file."""
    data = state_dir / "postgres" / "data"
    hba = data / "pg_hba.conf"
    owner = hba.stat()
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n", encoding="utf-8")
    os.chown(hba, owner.st_uid, owner.st_gid)
    if port is not None:
        password = postgres_password(state_dir)
        with psycopg.connect(
            f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres", autocommit=True
        ) as conn:
            conn.execute("ALTER ROLE postgres PASSWORD NULL")
            conn.execute("SELECT pg_reload_conf()")
    (state_dir / "secrets" / "postgres_password").unlink()


def test_up_upgrades_a_trust_stack_in_place(stack, state_dir: Path) -> None:
    up = components(stack("local", "up", "--json"))
    port = int(str(up["postgres"]["address"]).rsplit(":", 1)[1])
    with psycopg.connect(local_stack_settings(state_dir)["database_url"]) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    _trust_everyone(state_dir, port)
    wait_until = time.monotonic() + 10
    while not accepts_without_password(port):  # the reload takes a moment
        assert time.monotonic() < wait_until
        time.sleep(0.05)

    # Running: upgraded while it runs, same server, same data.
    again = components(stack("local", "up", "--json"))
    assert again["postgres"]["pid"] == up["postgres"]["pid"]
    assert not accepts_without_password(port)
    assert (state_dir / "postgres" / "data" / "pg_hba.conf").read_text(encoding="utf-8") == PG_HBA
    with psycopg.connect(local_stack_settings(state_dir)["database_url"]) as conn:
        assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]

    # Stopped (PostgreSQL alone, so that `local up` only has it to start): upgraded when it starts.
    EmbeddedPostgres(state_dir / "postgres").stop()
    _trust_everyone(state_dir, None)
    restarted = components(stack("local", "up", "--json"))
    port = int(str(restarted["postgres"]["address"]).rsplit(":", 1)[1])
    assert not accepts_without_password(port)
    with psycopg.connect(local_stack_settings(state_dir)["database_url"]) as conn:
        assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]

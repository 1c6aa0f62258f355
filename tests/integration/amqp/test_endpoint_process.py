"""The endpoint as the local stack runs it: `python -m paysim_cli.hub.amqp`, detached, probed, stopped;
and the same entry point in the foreground until SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from paysim_cli.errors import PaysimError
from paysim_cli.hub.amqp.__main__ import SAS_KEY_VARIABLE, main, parse_config
from paysim_cli.hub.amqp.process import EndpointProcess, emulator_connection_string, probe
from paysim_cli.local.processes import free_port, port_accepts, wait_until


def test_started_detached_probed_and_stopped(event_log: Path, tmp_path: Path) -> None:
    endpoint = EndpointProcess(tmp_path / "amqp", event_log)
    state = endpoint.start(free_port(), "payments")
    try:
        assert EndpointProcess.running(state)
        assert probe(state.port) is None
        assert emulator_connection_string(state.port, "payments").endswith(
            "UseDevelopmentEmulator=true;EntityPath=payments"
        )
    finally:
        EndpointProcess.stop(state)
    assert not EndpointProcess.running(state)
    assert probe(state.port, timeout=0.5) is not None
    assert "serving payments" in endpoint.log_file.read_text()


def test_a_failed_start_says_why(tmp_path: Path) -> None:
    endpoint = EndpointProcess(tmp_path / "amqp", tmp_path / "missing" / "events.db")
    with pytest.raises(PaysimError) as failed:
        endpoint.start(free_port(), "payments")
    assert failed.value.code == "amqp_failed"
    assert "no local event log" in failed.value.message


def test_a_probe_of_something_else_says_so() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]

        def answer() -> None:
            connection, _ = other.accept()
            with connection:
                connection.recv(8)
                connection.sendall(b"HTTP/1.1")

        threading.Thread(target=answer, daemon=True).start()
        assert "not AMQP" in (probe(port) or "")


def test_the_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, event_log: Path) -> None:
    monkeypatch.delenv(SAS_KEY_VARIABLE, raising=False)
    with pytest.raises(SystemExit):
        parse_config(["--event-log", str(event_log), "--sas-key-name", "policy"])
    monkeypatch.setenv(SAS_KEY_VARIABLE, "a2V5")
    config = parse_config(["--event-log", str(event_log), "--sas-key-name", "policy", "--idle-timeout", "30"])
    assert config.policy.sas_key is not None
    assert (config.policy.sas_key.name, config.policy.sas_key.key) == ("policy", "a2V5")
    assert config.policy.idle_timeout_seconds == 30


def test_the_foreground_endpoint_stops_on_sigterm(event_log: Path) -> None:
    port = free_port()

    def terminate_when_listening() -> None:
        # Only once it listens: its SIGTERM handler is installed before the socket is bound.
        if wait_until(lambda: port_accepts(port), timeout=20):
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_listening, daemon=True).start()
    main(["--event-log", str(event_log), "--port", str(port)])
    assert not port_accepts(port)

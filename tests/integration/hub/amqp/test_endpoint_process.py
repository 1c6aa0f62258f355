"""The endpoint as the local stack runs it (local/amqp.py): `python -m paysim_cli.hub.amqp`, detached, with
the stack's key or without, probed, stopped;
and the same entry point in the foreground until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
from pathlib import Path

import psutil
import pytest

from paysim_cli.errors import PaysimError
from paysim_cli.hub.amqp.__main__ import SAS_KEY_VARIABLE, main, parse_config
from paysim_cli.local.amqp import EndpointProcess, probe
from paysim_cli.local.processes import free_port, port_accepts, wait_until
from paysim_cli.local.state import eventhub_connection_string


def test_started_detached_probed_and_stopped(event_log: Path, tmp_path: Path) -> None:
    endpoint = EndpointProcess(tmp_path / "amqp", event_log)
    state = endpoint.start(free_port(), "payments")
    try:
        assert EndpointProcess.running(state)
        assert probe(state.port) is None
        assert eventhub_connection_string(state.port, "payments", None).endswith(
            "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath=payments"
        )
    finally:
        EndpointProcess.stop(state)
    assert not EndpointProcess.running(state)
    assert probe(state.port, timeout=0.5) is not None
    assert "serving payments" in endpoint.log_file.read_text()


def test_started_with_a_key_it_refuses_any_other_sync_and_async(event_log: Path, tmp_path: Path) -> None:
    from azure.eventhub import EventHubProducerClient
    from azure.eventhub.aio import EventHubProducerClient as AsyncProducerClient
    from azure.eventhub.exceptions import AuthenticationError

    endpoint = EndpointProcess(tmp_path / "amqp", event_log)
    state = endpoint.start(free_port(), "payments", sas_key="c3RhY2sta2V5")
    try:
        assert SAS_KEY_VARIABLE not in " ".join(psutil.Process(state.pid).cmdline())
        right = eventhub_connection_string(state.port, "payments", "c3RhY2sta2V5")
        with EventHubProducerClient.from_connection_string(right, retry_total=0) as client:
            assert client.get_partition_ids() == ["0", "1", "2", "3"]
        for wrong in ("d3Jvbmc=", None):  # another key; the emulator's placeholder
            connection_string = eventhub_connection_string(state.port, "payments", wrong)
            with (
                EventHubProducerClient.from_connection_string(connection_string, retry_total=0) as client,
                pytest.raises(AuthenticationError, match="401"),
            ):
                client.get_partition_ids()

        async def refused_async() -> None:
            wrong = eventhub_connection_string(state.port, "payments", "d3Jvbmc=")
            async with AsyncProducerClient.from_connection_string(wrong, retry_total=0) as client:
                await client.get_partition_ids()

        with pytest.raises(AuthenticationError, match="401"):
            asyncio.run(refused_async())
    finally:
        EndpointProcess.stop(state)


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

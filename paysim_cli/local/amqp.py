"""The endpoint as a detached background process of the local stack, like Azurite: start, stop, probe.

Kept free of the SDK and asyncio imports, so `paysim local status` stays quick.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from paysim_cli.local.processes import process_alive, start_service, terminate
from paysim_cli.local.state import EndpointState

MODULE = "paysim_cli.hub.amqp"
START_TIMEOUT_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0
_AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
_SASL_HEADER = b"AMQP\x03\x01\x00\x00"
# The development emulator's well-known policy and key: connection strings need one; it guards nothing.
EMULATOR_KEY_NAME = "RootManageSharedAccessKey"
EMULATOR_KEY = "SAS_KEY_VALUE"


def emulator_connection_string(port: int, eventhub_name: str) -> str:
    """What the SDK needs to reach the endpoint: an emulator connection string (plain AMQP, no TLS)."""
    return (
        f"Endpoint=sb://localhost:{port};SharedAccessKeyName={EMULATOR_KEY_NAME};SharedAccessKey={EMULATOR_KEY};"
        f"UseDevelopmentEmulator=true;EntityPath={eventhub_name}"
    )


class EndpointProcess:
    """The endpoint serving the log at `event_log`, with its output in `root/amqp.log`."""

    def __init__(self, root: Path, event_log: Path) -> None:
        self.root = root.resolve()
        self.event_log = event_log.resolve()
        self.log_file = self.root / "amqp.log"

    def start(self, port: int, eventhub_name: str) -> EndpointState:
        self.root.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            MODULE,
            "--event-log",
            str(self.event_log),
            "--eventhub-name",
            eventhub_name,
            "--port",
            str(port),
        ]
        pid = start_service(
            command,
            port=port,
            log_file=self.log_file,
            code="amqp",
            label="the AMQP endpoint",
            timeout=START_TIMEOUT_SECONDS,
        )
        return EndpointState(pid=pid, port=port, eventhub_name=eventhub_name)

    @staticmethod
    def running(state: EndpointState | None) -> bool:
        return state is not None and process_alive(state.pid, MODULE)

    @staticmethod
    def stop(state: EndpointState | None) -> None:
        if EndpointProcess.running(state) and state is not None:
            terminate(state.pid, timeout=STOP_GRACE_SECONDS)


def probe(port: int, timeout: float = 3.0) -> str | None:
    """None when the endpoint answers the AMQP SASL protocol header with its own, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(_SASL_HEADER)
            answer = connection.recv(8)
    except OSError as error:
        return f"not answering on port {port}: {error}"
    return None if answer == _SASL_HEADER else f"port {port} answered {answer!r}, not AMQP"

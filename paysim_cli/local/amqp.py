"""The Event Hubs AMQP endpoint (hub/amqp) as a detached background process of the local stack, like
Azurite: start, stop, probe. Its connection string is local/state.py's, next to Azurite's.

Kept free of the SDK and asyncio imports, so `paysim local status` stays quick.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from paysim_cli.hub.amqp.auth import SAS_KEY_VARIABLE
from paysim_cli.local.processes import process_alive, start_service, terminate
from paysim_cli.local.state import AMQP_SAS_KEY_NAME, EndpointState

MODULE = "paysim_cli.hub.amqp"
START_TIMEOUT_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0
_AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
_SASL_HEADER = b"AMQP\x03\x01\x00\x00"


class EndpointProcess:
    """The endpoint serving the log at `event_log`, with its output in `root/amqp.log`."""

    def __init__(self, root: Path, event_log: Path) -> None:
        self.root = root.resolve()
        self.event_log = event_log.resolve()
        self.log_file = self.root / "amqp.log"

    def start(self, port: int, eventhub_name: str, sas_key: str | None = None) -> EndpointState:
        """Start it on `port`; with `sas_key`, it refuses tokens not signed with it (status 401)."""
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
        environment = None
        if sas_key is not None:
            command += ["--sas-key-name", AMQP_SAS_KEY_NAME]
            environment = {**os.environ, SAS_KEY_VARIABLE: sas_key}
        pid = start_service(
            command,
            port=port,
            log_file=self.log_file,
            code="amqp",
            label="the AMQP endpoint",
            timeout=START_TIMEOUT_SECONDS,
            env=environment,
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

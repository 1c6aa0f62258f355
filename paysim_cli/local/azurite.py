"""Azurite, Microsoft's Storage emulator (blob service), run from the project's npm install.

Not crash-safe, and it cannot be made so cheaply: Azurite keeps its metadata in LokiJS, in memory, and
saves it whole every 5 s, so a killed Azurite forgets the blobs of its last seconds although it had
acknowledged them. Saving on every write costs a full save per write, which grows with the archive
(docs/adr/0009). `paysim archive check` finds such gaps and `paysim archive repair` fills them from the hub.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.local.processes import process_alive, start_service, terminate
from paysim_cli.local.state import ProcessState, azurite_connection_string

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BLOB_ENTRY = Path("node_modules") / "azurite" / "dist" / "src" / "blob" / "main.js"
START_TIMEOUT_SECONDS = 30.0
# Azurite saves its metadata and logs "successfully closed" on SIGTERM at once, but its process can
# linger after that (open keep-alive timers); past this grace it is killed.
STOP_GRACE_SECONDS = 3.0


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise PaysimError(
            "node_not_found",
            "Node.js is not on PATH, and Azurite (the local blob service) runs on it",
            "install Node.js 20 or newer (e.g. apt-get install nodejs npm), then run `make setup`",
            exit_code=ExitCode.UNAVAILABLE,
        )
    return node


def blob_entry(project_root: Path = PROJECT_ROOT) -> Path:
    entry = project_root / BLOB_ENTRY
    if not entry.exists():
        raise PaysimError(
            "azurite_not_installed",
            f"Azurite is not installed ({entry} is missing)",
            "run `make setup` (it runs `npm ci` in the project)",
            exit_code=ExitCode.UNAVAILABLE,
        )
    return entry


class Azurite:
    """One Azurite blob service with its data under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.data_dir = self.root / "data"
        self.log_file = self.root / "azurite.log"

    def start(self, port: int) -> ProcessState:
        node = node_binary()
        entry = blob_entry()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            node,
            str(entry),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(self.data_dir),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",  # Azurite reports usage to Microsoft by default
        ]
        pid = start_service(
            command,
            port=port,
            log_file=self.log_file,
            code="azurite",
            label="Azurite",
            timeout=START_TIMEOUT_SECONDS,
        )
        return ProcessState(pid=pid, port=port)

    @staticmethod
    def running(state: ProcessState | None) -> bool:
        return state is not None and process_alive(state.pid, "azurite")

    @staticmethod
    def stop(state: ProcessState | None) -> None:
        if state is not None and process_alive(state.pid, "azurite"):
            terminate(state.pid, timeout=STOP_GRACE_SECONDS)


def probe(port: int) -> str | None:
    """None when the blob service at `port` answers an authenticated request, else why not."""
    from azure.core.exceptions import AzureError
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(
        azurite_connection_string(port), retry_total=0, connection_timeout=3
    )
    try:
        client.get_service_properties(timeout=3)
    except AzureError as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    finally:
        client.close()
    return None

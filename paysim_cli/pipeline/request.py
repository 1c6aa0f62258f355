"""What `paysim pipeline run` is asked to do, with its bounds (read by the options' help, checked once).

Apart from the host's process handling so that `paysim --help` can read it without loading the host.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from paysim_cli.hub.targets import HubTarget
from paysim_cli.worker_process import RestartPolicy, Workers

DEFAULT_FUNCTION_NAME = "process_payment_events"


class PipelineRequest(BaseModel):
    """What `paysim pipeline run` was asked to do."""

    model_config = ConfigDict(frozen=True)

    function_dir: Path | None = None  # None: the active release, else the working tree's function/
    development: bool = False  # the working tree's function/ even when a release is deployed
    function_name: str = DEFAULT_FUNCTION_NAME
    consumer_group: str | None = None
    workers: Workers = 2
    batch_size: int = Field(500, ge=1, le=10_000)
    max_wait_ms: int = Field(50, ge=0, le=60_000)
    until_drained: bool = False
    source: HubTarget = HubTarget.LOCAL
    drain_grace_seconds: float = Field(1.0, ge=0)
    restarts: RestartPolicy = RestartPolicy()

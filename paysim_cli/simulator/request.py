"""What `paysim simulate` (and the demo's simulation) is asked to do. The bounds live here, once: the
options' help shows them and one helper turns a value outside them into a usage error naming the option.

Kept free of heavy imports: every command module reads these models when `paysim --help` runs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from paysim_cli.hub.targets import HubTarget
from paysim_cli.worker_process import Workers

# Which event field the partition key is taken from (here, not in generator/: `--help` must not load it).
PartitionKeyField = Literal["customer.id", "merchant.id", "transaction_id", "none"]

# Events older than the pipeline's default max_event_age (7 days) are rejected: no run lasts longer.
MAX_DURATION_SECONDS = 7 * 86_400
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"

Rate = Annotated[float, Field(gt=0, le=1_000_000)]
Duration = Annotated[float, Field(gt=0, le=MAX_DURATION_SECONDS)]
Seed = Annotated[int, Field(ge=0, lt=2**63)]


class SimulationRequest(BaseModel):
    """What `paysim simulate` was asked to do."""

    model_config = ConfigDict(frozen=True)

    profile: str = "default"
    rate: Rate | None = None
    duration: Duration | None = None
    count: int | None = Field(None, ge=1, le=10_000_000_000)
    seed: Seed | None = None
    start_time: datetime | None = None
    run_id: str | None = Field(None, pattern=RUN_ID_PATTERN)
    workers: Workers | None = None  # None: chosen for the rate (simulation.workers_for_rate)
    transport: HubTarget | None = None  # None: the environment's (default_transport)
    output: Path | None = None
    partition_key_field: PartitionKeyField = "customer.id"
    watch: bool = False
    throughput_units: int = Field(1, ge=1, le=1000)

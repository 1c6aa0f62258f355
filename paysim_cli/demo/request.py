"""What `paysim demo` is asked to do; its simulation's bounds are the simulator's own."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from paysim_cli.hub.targets import HubTarget
from paysim_cli.simulator.request import Duration, Rate, Seed
from paysim_cli.worker_process import Workers


class DemoRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    rate: Rate = 5000
    duration: Duration = 30
    profile: str = "default"
    seed: Seed | None = None
    workers: Workers = 2
    # local: the local log on both sides; eventhub: the SDK on both sides, through the AMQP endpoint.
    transport: HubTarget = HubTarget.LOCAL
    drain_timeout: float = Field(120, gt=0, le=3600)

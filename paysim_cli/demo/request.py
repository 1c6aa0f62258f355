"""What `paysim demo` is asked to do; its simulation's bounds are the simulator's own."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paysim_cli.faults.spec import FaultSpec, check_fits
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
    # Events older runs left in the hub are committed before the run starts, for up to this long.
    backlog_timeout: float = Field(900, gt=0, le=86_400)
    faults: FaultSpec | None = None  # --faults: real faults struck during the run

    @model_validator(mode="after")
    def _faults_fit(self) -> DemoRequest:
        if self.faults is not None:
            check_fits(self.faults, self.duration, amqp_in_path=self.transport is HubTarget.EVENTHUB)
        return self

"""What `paysim function deploy` is asked to do, with its bounds (read by the options' help, checked once).

Apart from the service so that `paysim --help` reads it without loading the deploy machinery.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class GateRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    seconds: float = Field(30.0, ge=0, le=3600, description="how long the pipeline must stay healthy")
    start_timeout_seconds: float = Field(
        120.0, gt=0, le=3600, description="how long the host may take to run the new release"
    )
    interval_seconds: float = Field(2.0, gt=0, le=60)
    max_failed_invocations: int = Field(0, ge=0)
    max_lag_growth_per_second: float = Field(
        250.0, ge=0, description="events/s the lag may grow by over the window (a least-squares slope)"
    )


class DeployRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    package: Path | None = None  # a built zip; else one is built from function_dir
    function_dir: Path | None = None  # the app, and its settings/<env>.json
    remote_build: bool = False
    gate: bool = True
    gate_request: GateRequest = GateRequest()
    poll_seconds: float = Field(2.0, gt=0, le=60)
    deploy_timeout_seconds: float = Field(900.0, gt=0)
    functions_timeout_seconds: float = Field(180.0, gt=0)
    production_confirmed: bool = False  # --deploy-production: a protected environment needs it too

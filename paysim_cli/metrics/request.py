"""What `paysim metrics cluster` is asked to do, with its bounds (read by the options' help, checked once)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ClusterRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    since: datetime | None = None  # default: `until` minus a day
    until: datetime | None = None  # default: now
    clusters: int = Field(4, ge=2, le=50)
    seed: int = Field(0, ge=0, lt=2**63)
    min_events: int = Field(10, ge=1)

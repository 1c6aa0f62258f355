"""The deployment history of an environment: every deploy, rollback and settings change, and which
release is active. Kept beside the releases in the releases store."""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Action(StrEnum):
    DEPLOY = "deploy"
    ROLLBACK = "rollback"  # by hand (`paysim function rollback`) or automatic after a failed deploy
    SETTINGS = "settings"  # `paysim function settings apply`


class Outcome(StrEnum):
    IN_PROGRESS = "in_progress"
    DEPLOYED = "deployed"  # live, and the gate passed (or was skipped)
    ROLLED_BACK = "rolled_back"  # failed, and the previous release was redeployed
    FAILED = "failed"  # failed, and nothing to roll back to (or the rollback failed too)


class DeploymentRecord(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    action: Action
    version: str | None  # None: no release (the local host back on the working tree)
    commit: str | None = None
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    by: str
    outcome: Outcome = Outcome.IN_PROGRESS
    settings: dict[str, str] = Field(default_factory=dict)  # the release settings applied with it
    reason: str | None = None  # why it failed
    automatic: bool = False  # a rollback paysim made by itself
    rolled_back_to: str | None = None


class ReleaseHistory(BaseModel):
    active: str | None = None
    active_settings: dict[str, str] = Field(default_factory=dict)
    deployments: list[DeploymentRecord] = Field(default_factory=list)

    def record(self, record: DeploymentRecord) -> DeploymentRecord:
        self.deployments.append(record)
        return record

    def latest_for(self, version: str) -> DeploymentRecord | None:
        return next((item for item in reversed(self.deployments) if item.version == version), None)

    def previous_good(self, before: str | None) -> str | None:
        """The release live before the active one: the newest deployed record of another version."""
        for item in reversed(self.deployments):
            if item.outcome is Outcome.DEPLOYED and item.version not in (None, before):
                return item.version
        return None

    def settings_of(self, version: str) -> dict[str, str]:
        """The release settings `version` last ran with."""
        for item in reversed(self.deployments):
            if item.version == version and item.outcome is Outcome.DEPLOYED:
                return dict(item.settings)
        return {}


def deployer_identity() -> str:
    """Who deploys: the GitHub Actions actor in CI, else user@host."""
    actor = os.environ.get("GITHUB_ACTOR")
    if actor:
        return f"github:{actor}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"

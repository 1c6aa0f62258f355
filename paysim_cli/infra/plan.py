"""What a saved Terraform plan will do, counted from `terraform show -json`, and the record kept beside it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Action = Literal["add", "change", "destroy"]


class ResourceChange(BaseModel):
    """One resource the plan touches; a replacement is both an add and a destroy."""

    model_config = ConfigDict(frozen=True)

    address: str
    type: str
    actions: tuple[Action, ...]


class TypeChanges(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str
    add: int = 0
    change: int = 0
    destroy: int = 0


class PlanSummary(BaseModel):
    """Counts as Terraform's own `Plan: N to add, N to change, N to destroy`, and per resource type."""

    model_config = ConfigDict(frozen=True)

    add: int
    change: int
    destroy: int
    by_type: tuple[TypeChanges, ...]
    resources: tuple[ResourceChange, ...]

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy)

    def headline(self) -> str:
        return f"{self.add} to add, {self.change} to change, {self.destroy} to destroy"


class PlanRecord(BaseModel):
    """Written beside the plan file: `up` applies the plan only if the configuration is unchanged."""

    model_config = ConfigDict(frozen=True)

    env: str
    root: str
    configuration_digest: str
    created_at: datetime
    summary: PlanSummary


def summarize_plan(plan_json: Mapping[str, Any]) -> PlanSummary:
    """Count the changes in a `terraform show -json PLAN` document."""
    resources = tuple(_changes(plan_json.get("resource_changes") or ()))
    counts: dict[str, Counter[Action]] = {}
    for resource in resources:
        counts.setdefault(resource.type, Counter()).update(resource.actions)
    by_type = tuple(
        TypeChanges(type=resource_type, add=count["add"], change=count["change"], destroy=count["destroy"])
        for resource_type, count in sorted(counts.items())
    )
    return PlanSummary(
        add=sum(row.add for row in by_type),
        change=sum(row.change for row in by_type),
        destroy=sum(row.destroy for row in by_type),
        by_type=by_type,
        resources=resources,
    )


def _changes(resource_changes: Iterable[Mapping[str, Any]]) -> Iterable[ResourceChange]:
    for entry in resource_changes:
        actions = _actions(entry.get("change", {}).get("actions", ()))
        if actions:
            yield ResourceChange(address=str(entry["address"]), type=str(entry["type"]), actions=actions)


def _actions(terraform_actions: Iterable[str]) -> tuple[Action, ...]:
    """Terraform's create/update/delete (and no-op, read) as the add/change/destroy of its summary line."""
    names: dict[str, Action] = {"create": "add", "update": "change", "delete": "destroy"}
    return tuple(sorted({names[action] for action in terraform_actions if action in names}))

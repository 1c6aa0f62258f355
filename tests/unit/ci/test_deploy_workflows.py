"""release.yml deploys dev → staging → production through deploy.yml, whose job runs the paysim
sequence in order, one deploy per environment at a time, signed in by OIDC only. What the sequence
does when it runs is tests/e2e/test_deploy_sequence.py's."""

from __future__ import annotations

from typing import Any

import yaml
from test_workflow_commands import all_workflow_commands
from workflow_commands import WORKFLOWS_DIR


def workflow(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS_DIR / name).read_text(encoding="utf-8"))
    return document


def test_release_deploys_dev_then_staging_then_production_through_the_reusable_workflow() -> None:
    jobs = workflow("release.yml")["jobs"]
    assert list(jobs) == ["dev", "staging", "production"]
    assert [job.get("needs") for job in jobs.values()] == [None, "dev", "staging"]
    for name, job in jobs.items():
        assert job["uses"] == "./.github/workflows/deploy.yml"
        assert job["with"]["environment"] == name
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        assert "secrets" not in job  # OIDC: there is no secret to pass


def test_release_runs_on_pushes_to_main_with_no_permissions_by_default() -> None:
    document = workflow("release.yml")
    triggers = document[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"] == {"branches": ["main"]}
    assert document["permissions"] == {}


def test_deploy_is_one_job_per_environment_at_a_time_in_that_environment() -> None:
    document = workflow("deploy.yml")
    assert set(document[True]) == {"workflow_call"}
    assert document["permissions"] == {}
    (job,) = document["jobs"].values()
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}
    assert job["env"]["PAYSIM_ENV"] == "${{ inputs.environment }}"
    login = next(step for step in job["steps"] if str(step.get("uses", "")).startswith("azure/login@"))
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}  # OIDC, no client secret


def test_deploy_runs_the_paysim_sequence_in_order() -> None:
    commands = [
        " ".join(command.argv[:2])
        for command in all_workflow_commands()
        if command.workflow == "deploy.yml" and command.step != "Roll back"
    ]
    assert commands == [
        "function package",
        "infra init",
        "infra plan",
        "infra up",
        "infra output",
        "db status",
        "db migrate",
        "function deploy",
        "health --wait-healthy",
        "db status",  # the summary's version after
    ]


def test_the_rollback_reverts_the_function_and_then_the_migrations_to_the_version_before() -> None:
    rollback = [
        command.argv
        for command in all_workflow_commands()
        if command.workflow == "deploy.yml" and command.step == "Roll back"
    ]
    assert rollback[0][:2] == ("function", "rollback")
    assert rollback[1:] == [
        ("db", "rollback", "--sql-dir", "sql", "--to", "6", "--yes", "--rollback-production", "--json"),
        ("db", "rollback", "--sql-dir", "sql", "--to", "6", "--yes", "--json"),
    ]


def test_the_load_test_checks_health_after_verify() -> None:
    steps = [step.get("name") for step in workflow("load-test.yml")["jobs"]["load-test"]["steps"]]
    assert steps.index("paysim health") == steps.index("paysim verify") + 1

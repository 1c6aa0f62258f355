"""The release history: which release was live before the active one, and with which settings."""

from __future__ import annotations

import pytest

from paysim_cli.deploy.history import Action, DeploymentRecord, Outcome, ReleaseHistory, deployer_identity


def _record(version: str | None, outcome: Outcome, **settings: str) -> DeploymentRecord:
    return DeploymentRecord(action=Action.DEPLOY, version=version, by="t", outcome=outcome, settings=settings)


def test_the_previous_good_release_skips_failures_and_the_active_one() -> None:
    history = ReleaseHistory(active="c")
    for record in (
        _record("a", Outcome.DEPLOYED, PAYSIM_WINDOW_SECONDS="300"),
        _record("b", Outcome.DEPLOYED, PAYSIM_WINDOW_SECONDS="60"),
        _record("x", Outcome.ROLLED_BACK),
        _record("c", Outcome.DEPLOYED),
        _record(None, Outcome.DEPLOYED),
    ):
        history.record(record)
    assert history.previous_good("c") == "b"
    assert history.settings_of("b") == {"PAYSIM_WINDOW_SECONDS": "60"}
    assert history.settings_of("x") == {}
    latest = history.latest_for("x")
    assert latest is not None
    assert latest.outcome is Outcome.ROLLED_BACK
    assert ReleaseHistory().previous_good(None) is None


def test_the_deployer_is_the_github_actor_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert deployer_identity() == "github:octocat"
    monkeypatch.delenv("GITHUB_ACTOR")
    assert "@" in deployer_identity()

"""`paysim function deploy | rollback | settings` against an Azure environment, on what runs here.

The Azure control plane is a local HTTP server that speaks the documented Kudu and ARM endpoints used
(kudu_arm_server.py: one-deploy, zipdeploy, deployment status and log, app settings, sync triggers,
functions, host status), since neither can run on this machine; the Function App's host behaviour it
scripts is named there. Everything else is real: the packages are built by `paysim function package`
and loaded by the registration check, and the releases store is a container in the real Azurite.
The gate's health checks need a whole Azure pipeline and are exercised on the local stack
(test_local_proof.py); here the deploys run with gate=False.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from kudu_arm_server import (
    APP,
    GROUP,
    SITE,
    SUBSCRIPTION,
    TERRAFORM_SETTINGS,
    AzureState,
    StaticToken,
    azure_server,
)

from paysim_cli.blob import container_client
from paysim_cli.deploy.appsettings import SettingsDiff
from paysim_cli.deploy.history import Action, Outcome
from paysim_cli.deploy.manifest import ReleaseManifest
from paysim_cli.deploy.package import PackageRequest, build_package
from paysim_cli.deploy.service import (
    DeployFailed,
    DeployReport,
    DeployRequest,
    RolledBack,
    apply_settings,
    deploy,
    rollback,
    settings_diff,
)
from paysim_cli.deploy.store import release_store
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.output import Output
from paysim_cli.secrets import MASK
from paysim_cli.settings import Settings

FUNCTION_DIR = Path(__file__).resolve().parents[3] / "function"
FAST = {"poll_seconds": 0.05, "functions_timeout_seconds": 1.0, "gate": False}


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A copy of the Function app whose settings/dev.json the test writes."""
    app = tmp_path / "app"
    shutil.copytree(FUNCTION_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    write_settings(app, {"PAYSIM_WINDOW_SECONDS": "300", "PAYSIM_BLOB_ATTEMPTS": "4"})
    return app


def write_settings(app: Path, values: dict[str, str]) -> None:
    (app / "settings" / "dev.json").write_bytes(orjson.dumps(values))


@pytest.fixture
def azure(state_dir: Path, blob_connection_string: str) -> Iterator[tuple[Settings, AzureState]]:
    with azure_server() as (base, state):
        settings = Settings(
            env="dev",
            state_dir=state_dir,
            subscription_id=SUBSCRIPTION,
            resource_group=GROUP,
            function_app_name=APP,
            arm_endpoint=base,
            kudu_endpoint=base,
            blob_connection_string=blob_connection_string,
            releases_container=f"releases-{uuid.uuid4().hex[:10]}",
        )
        yield settings, state


def no_prompt(manifest: ReleaseManifest | None, diff: SettingsDiff) -> None:
    return None


def release(settings: Settings, app: Path, tmp_path: Path, marker: str) -> Path:
    """A package of the app with `marker` in it, so two releases differ."""
    (app / "paysim_pipeline" / "release_marker.py").write_text(f"MARKER = {marker!r}\n")
    return build_package(
        settings, PackageRequest(function_dir=app, output_dir=tmp_path / marker, remote_build=True)
    ).path


def run_deploy(
    settings: Settings, app: Path, package: Path, statuses: list[str] | None = None
) -> DeployReport:
    return deploy(
        settings,
        DeployRequest(package=package, function_dir=app, **FAST),
        on_status=(statuses if statuses is not None else []).append,
        confirm=no_prompt,
        credential=StaticToken(),
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_flex_one_deploy_polls_the_deployment_then_syncs_triggers_and_checks_the_functions(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    state.settings["PAYSIM_RULES_FILE"] = "/old/rules.yaml"  # a release setting the file drops
    package = release(settings, app_dir, tmp_path, "a")
    statuses: list[str] = []
    report = run_deploy(settings, app_dir, package, statuses)

    assert report.outcome is Outcome.DEPLOYED
    (deployment,) = state.deployments
    assert state.calls("POST", "/api/publish") == ["/api/publish?RemoteBuild=true&Deployer=paysim"]
    # 202 with the id, then polled on its status until complete: two "in progress" answers, one final.
    assert len(state.calls("GET", f"/api/deployments/{deployment.id}")) == 3
    assert any("building" in line.lower() for line in statuses)
    assert len(state.calls("POST", "/subscriptions/")) >= 2  # settings list + syncfunctiontriggers
    assert state.calls("POST", f"{SITE}/syncfunctiontriggers")
    assert state.functions == ["process_payment_events"]
    assert state.deployed_packages() == [sha256(package)]
    assert not state.unauthorized
    # The release settings merged over Terraform's: those kept exactly, the release's applied.
    assert state.settings == TERRAFORM_SETTINGS | {
        "PAYSIM_WINDOW_SECONDS": "300",
        "PAYSIM_BLOB_ATTEMPTS": "4",
    }
    changes = {change.name: change.change for change in report.settings.changes}
    assert changes == {
        "PAYSIM_WINDOW_SECONDS": "added",
        "PAYSIM_BLOB_ATTEMPTS": "added",
        "PAYSIM_RULES_FILE": "removed",
    }
    # The release is in the storage account's releases container (Azurite), with its manifest.
    with container_client(settings, settings.releases_container) as container:
        names = sorted(blob.name for blob in container.list_blobs())
    assert names == [
        "paysim/history.json",
        f"paysim/releases/{report.version}/manifest.json",
        f"paysim/releases/{report.version}/package.zip",
    ]
    history = release_store(settings).history()
    assert history.active == report.version
    assert [(r.action, r.outcome) for r in history.deployments] == [(Action.DEPLOY, Outcome.DEPLOYED)]


def test_elastic_premium_zipdeploy_follows_the_location_kudu_returns(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path, function_wheels: Callable[[Path], Path]
) -> None:
    settings, state = azure
    function_wheels(settings.state_dir)  # a vendored package (no remote build): the run's wheels
    state.sku = "ElasticPremium"
    package = build_package(settings, PackageRequest(function_dir=app_dir, output_dir=tmp_path / "p")).path
    report = run_deploy(settings, app_dir, package)
    assert report.outcome is Outcome.DEPLOYED
    assert state.calls("POST", "/api/zipdeploy") == ["/api/zipdeploy?isAsync=true&Deployer=paysim"]
    polls = state.calls("GET", "/api/deployments/latest?deployer=paysim")
    assert len(polls) == 3
    assert not state.calls("POST", "/api/publish")


def test_remote_build_on_elastic_premium_needs_the_apps_build_setting(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    state.sku = "ElasticPremium"
    with pytest.raises(PaysimError) as raised:
        run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "a"))
    assert (raised.value.code, raised.value.exit_code) == ("remote_build_not_enabled", ExitCode.CONFIG)
    assert not state.deployments  # refused before any change
    assert state.settings == TERRAFORM_SETTINGS


def test_a_failed_deployment_rolls_back_to_the_previous_release_with_its_settings(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    good = release(settings, app_dir, tmp_path, "good")
    first = run_deploy(settings, app_dir, good)
    write_settings(app_dir, {"PAYSIM_WINDOW_SECONDS": "60"})
    bad = release(settings, app_dir, tmp_path, "bad")
    state.outcomes = [3]  # Kudu: the deployment (a remote build) failed, though every request said 200/202

    with pytest.raises(RolledBack) as raised:
        run_deploy(settings, app_dir, bad)

    error = raised.value
    assert error.exit_code is ExitCode.ROLLED_BACK
    assert error.deploy_report.rolled_back_to == first.version
    assert "Deployment failed." in str(error.deploy_report.reason)  # the last line of Kudu's log
    # The bad package was sent, then the good one again, which succeeded.
    assert state.deployed_packages() == [sha256(good), sha256(bad), sha256(good)]
    assert state.deployments[-1].status == 4
    assert state.settings == TERRAFORM_SETTINGS | {
        "PAYSIM_WINDOW_SECONDS": "300",
        "PAYSIM_BLOB_ATTEMPTS": "4",
    }
    history = release_store(settings).history()
    assert history.active == first.version
    assert [(r.action, r.version, r.outcome, r.automatic) for r in history.deployments] == [
        (Action.DEPLOY, first.version, Outcome.DEPLOYED, False),
        (Action.DEPLOY, error.deploy_report.version, Outcome.ROLLED_BACK, False),
        (Action.ROLLBACK, first.version, Outcome.DEPLOYED, True),
    ]
    # --json carries the report inside the error document.
    stdout = io.StringIO()
    Output(json_mode=True, stdout=stdout).error(error)
    document = orjson.loads(stdout.getvalue())["error"]
    assert (document["code"], document["report"]["rolled_back_to"]) == ("rolled_back", first.version)


def test_a_deployment_kudu_calls_successful_but_the_host_registers_nothing_for_is_rolled_back(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    first = run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "good"))
    state.register_nothing = True  # status 4, yet zero functions: `func publish` would call this success
    bad = release(settings, app_dir, tmp_path, "bad")
    state_after_bad: list[list[str]] = []

    def track(manifest: ReleaseManifest | None, diff: SettingsDiff) -> None:
        state_after_bad.append(list(state.functions))

    with pytest.raises(RolledBack) as raised:
        deploy(
            settings,
            DeployRequest(package=bad, function_dir=app_dir, **FAST),
            on_status=lambda line: None,
            confirm=track,
            credential=StaticToken(),
        )
    assert "did not register process_payment_events" in str(raised.value.deploy_report.reason)
    assert raised.value.deploy_report.rolled_back_to == first.version
    assert state.deployed_packages()[-1] == state.deployed_packages()[0]


def test_a_409_is_a_conflict_and_changes_nothing(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    first = run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "good"))
    write_settings(app_dir, {"PAYSIM_WINDOW_SECONDS": "60"})
    before = dict(state.settings)
    state.publish_status = 409
    with pytest.raises(PaysimError) as raised:
        run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "next"))
    assert (raised.value.code, raised.value.exit_code) == ("deployment_in_progress", ExitCode.CONFLICT)
    assert state.settings == before
    assert len(state.deployments) == 1
    history = release_store(settings).history()
    assert history.active == first.version
    assert history.deployments[-1].outcome is Outcome.FAILED


def test_a_deployment_still_running_is_a_conflict_found_before_uploading(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "good"))
    state.deployments[-1].complete, state.deployments[-1].status = False, 1  # someone else's, building
    state.deployments[-1].polls_left = 1_000
    with pytest.raises(PaysimError) as raised:
        run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "next"))
    assert raised.value.code == "deployment_in_progress"
    assert "is still deploying" in raised.value.message
    assert len(state.calls("POST", "/api/publish")) == 1


def test_sync_triggers_answered_200_is_success_a_500_is_retried_and_a_400_rolls_back(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    sync = f"{SITE}/syncfunctiontriggers"
    state.sync_answers = [500, 204]
    first = run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "good"))  # 500, then 204
    assert first.outcome is Outcome.DEPLOYED
    assert len(state.calls("POST", sync)) >= 2

    # The quirk itself: azure-mgmt-web raises on the 200 the service answers.
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.web import WebSiteManagementClient

    client = WebSiteManagementClient(StaticToken(), SUBSCRIPTION, base_url=settings.arm_endpoint)  # type: ignore[arg-type]
    with client, pytest.raises(HttpResponseError) as quirk:
        client.web_apps.sync_function_triggers(GROUP, APP, enforce_https=False)
    assert quirk.value.status_code == 200

    state.sync_answers = [400]
    with pytest.raises(RolledBack) as raised:
        run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "next"))
    assert "syncing the triggers" in str(raised.value.deploy_report.reason)
    assert "HTTP 400" in str(raised.value.deploy_report.reason)
    # The rollback's own sync got the service's usual 200, which azure-mgmt-web alone would raise on.
    assert raised.value.deploy_report.rolled_back_to == first.version


def test_the_first_deploy_failing_has_nothing_to_roll_back_to_and_says_so(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    state.settings["PAYSIM_WINDOW_SECONDS"] = "120"
    state.outcomes = [3]
    with pytest.raises(DeployFailed) as raised:
        run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "bad"))
    assert (raised.value.code, raised.value.exit_code) == ("no_release_to_roll_back_to", ExitCode.FAILURE)
    assert state.settings["PAYSIM_WINDOW_SECONDS"] == "120"  # the settings it had before, restored
    assert release_store(settings).history().active is None


def test_settings_diff_masks_secrets_and_a_file_naming_terraforms_settings_is_refused(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    state.settings["PAYSIM_RULES_FILE"] = "https://st.blob.core.windows.net/rules/r.yaml?sv=1&sig=TopSecret"
    diff = settings_diff(settings, app_dir, credential=StaticToken())
    (removed,) = [change for change in diff.changes if change.name == "PAYSIM_RULES_FILE"]
    assert "TopSecret" not in str(removed.before)
    assert MASK in str(removed.before)
    assert diff.untouched == len(TERRAFORM_SETTINGS)

    write_settings(app_dir, {"PAYSIM_DATABASE_URL": "postgresql://x@y/z"})
    with pytest.raises(PaysimError) as raised:
        run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "a"))
    assert raised.value.code == "release_setting_not_owned"
    assert not state.deployments


def test_settings_apply_writes_the_file_over_the_apps_and_records_it(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    first = run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "a"))
    write_settings(
        app_dir,
        {
            "PAYSIM_WINDOW_SECONDS": "60",
            "PAYSIM_RULES_FILE": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/rules/)",
        },
    )
    diff = apply_settings(
        settings, app_dir, on_status=lambda line: None, confirm=no_prompt, credential=StaticToken()
    )
    assert {change.name for change in diff.changes} == {
        "PAYSIM_WINDOW_SECONDS",
        "PAYSIM_RULES_FILE",
        "PAYSIM_BLOB_ATTEMPTS",
    }
    assert state.settings["PAYSIM_RULES_FILE"].startswith("@Microsoft.KeyVault(")  # passed through
    assert "PAYSIM_BLOB_ATTEMPTS" not in state.settings
    history = release_store(settings).history()
    assert (history.deployments[-1].action, history.deployments[-1].version) == (
        Action.SETTINGS,
        first.version,
    )
    assert history.active_settings["PAYSIM_WINDOW_SECONDS"] == "60"


def test_rollback_redeploys_an_earlier_release_from_the_store(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, state = azure
    first = run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "a"))
    write_settings(app_dir, {"PAYSIM_WINDOW_SECONDS": "60"})
    second = run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "b"))
    assert state.settings["PAYSIM_WINDOW_SECONDS"] == "60"

    report = rollback(
        settings,
        None,
        on_status=lambda line: None,
        confirm=no_prompt,
        request=DeployRequest(**FAST),
        credential=StaticToken(),
    )
    assert (report.version, report.previous) == (first.version, second.version)
    assert state.deployed_packages()[-1] == state.deployed_packages()[0]
    assert state.settings["PAYSIM_WINDOW_SECONDS"] == "300"  # with the settings it ran with
    assert release_store(settings).history().active == first.version

    with pytest.raises(PaysimError) as raised:
        rollback(
            settings, "0123456789ab", on_status=lambda line: None, confirm=no_prompt, credential=StaticToken()
        )
    assert raised.value.code == "release_not_found"


def test_kudu_refusing_the_token_is_an_authentication_error(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    settings, _ = azure

    class WrongToken(StaticToken):
        def get_token(self, *scopes: str, **kwargs: object):  # type: ignore[no-untyped-def]
            from azure.core.credentials import AccessToken

            return AccessToken("expired", 4_102_444_800)

    with pytest.raises(PaysimError) as raised:
        deploy(
            settings,
            DeployRequest(package=release(settings, app_dir, tmp_path, "a"), function_dir=app_dir, **FAST),
            on_status=lambda line: None,
            confirm=no_prompt,
            credential=WrongToken(),
        )
    assert (raised.value.code, raised.value.exit_code) == ("azure_auth_failed", ExitCode.AUTH)


def test_releases_and_status_read_the_store_the_app_and_its_drift(
    azure: tuple[Settings, AzureState], app_dir: Path, tmp_path: Path
) -> None:
    from paysim_cli.deploy.overview import function_status, list_releases

    settings, state = azure
    first = run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "a"))
    second = run_deploy(settings, app_dir, release(settings, app_dir, tmp_path, "b"))
    listed = list_releases(settings)
    assert listed.store == f"container {settings.releases_container}"
    assert [(row.version, row.active, row.outcome) for row in listed.releases] == [
        (second.version, True, Outcome.DEPLOYED),
        (first.version, False, Outcome.DEPLOYED),
    ]
    state.settings["PAYSIM_WINDOW_SECONDS"] = "5"  # changed in the portal, outside paysim
    status = function_status(settings, app_dir, credential=StaticToken())
    assert status.active == second.version
    assert status.host is not None
    assert (status.host.state, status.host.functions) == ("Running, host Running", ["process_payment_events"])
    assert [(change.name, change.before, change.after) for change in status.drift.changes] == [
        ("PAYSIM_WINDOW_SECONDS", "300", "5")
    ]
    assert [change.name for change in status.pending.changes] == ["PAYSIM_WINDOW_SECONDS"]

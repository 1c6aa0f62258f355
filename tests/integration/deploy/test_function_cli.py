"""`paysim function` as a user runs it, on the local target without a running host: package, deploy
(--no-gate), releases, status, settings diff/apply, rollback, and the exit codes of what goes wrong."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import Result

from paysim_cli.errors import ExitCode
from paysim_cli.pipeline.release import read_active, release_dir

CliInvoker = Callable[..., Result]
FUNCTION_DIR = Path(__file__).resolve().parents[3] / "function"


def data(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)["data"]


def error(result: Result) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(result.stdout)["error"]
    return document


@pytest.fixture
def app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    shutil.copytree(FUNCTION_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    return app


def package(cli: CliInvoker, app: Path, output: Path, marker: str) -> dict[str, Any]:
    (app / "paysim_pipeline" / "release_marker.py").write_text(f"MARKER = {marker!r}\n")
    built: dict[str, Any] = data(
        cli("function", "package", "--remote-build", "--function-dir", str(app), "-o", str(output), "--json")
    )
    return built


def deploy(cli: CliInvoker, built: dict[str, Any], app: Path, *extra: str) -> dict[str, Any]:
    """`paysim function deploy --no-gate` of a built package, with the app's settings file."""
    line = ["function", "deploy", "--package", built["path"], "--function-dir", str(app), "--no-gate"]
    deployed: dict[str, Any] = data(cli(*line, *extra, "--json"))
    return deployed


def test_package_deploy_releases_status_and_rollback_on_the_local_target(
    cli: CliInvoker, app: Path, tmp_path: Path, state_dir: Path
) -> None:
    first = package(cli, app, tmp_path / "one", "one")
    assert first["functions"] == ["process_payment_events"]
    assert Path(first["path"]).name == f"paysim-function-{first['version']}.zip"

    deployed = deploy(cli, first, app, "--env", "local")
    assert (deployed["outcome"], deployed["version"], deployed["gate"]) == (
        "deployed",
        first["version"],
        None,
    )
    active = read_active(state_dir)
    assert active is not None
    assert active.version == first["version"]
    assert active.settings["PAYSIM_WINDOW_SECONDS"] == "300"  # function/settings/local.json
    assert (release_dir(state_dir, first["version"]) / "function_app.py").exists()

    (app / "settings" / "local.json").write_text('{"PAYSIM_WINDOW_SECONDS": "60"}')
    second = package(cli, app, tmp_path / "two", "two")
    people = cli("function", "deploy", "--package", second["path"], "--function-dir", str(app), "--no-gate")
    assert people.exit_code == 0, people.output
    assert f"deployed release {second['version']}" in people.stdout
    assert "~ PAYSIM_WINDOW_SECONDS 300 -> 60" in people.stderr
    assert "- PAYSIM_BLOB_ATTEMPTS (was 4; the function's default applies)" in people.stderr

    listed = data(cli("function", "releases", "--json"))
    assert listed["active"] == second["version"]
    assert [(row["version"], row["active"], row["outcome"]) for row in listed["releases"]] == [
        (second["version"], True, "deployed"),
        (first["version"], False, "deployed"),
    ]
    table = cli("function", "releases")
    assert second["version"] in table.stdout
    assert "active:" in table.stdout

    status = data(cli("function", "status", "--function-dir", str(app), "--json"))
    assert status["active"] == second["version"]
    assert "no pipeline worker runs" in status["host"]["state"]
    assert status["drift"]["changes"] == []
    assert status["pending"]["changes"] == []

    rolled = data(cli("function", "rollback", "--json"))
    assert (rolled["version"], rolled["previous"], rolled["running_after_seconds"]) == (
        first["version"],
        second["version"],
        None,
    )
    active = read_active(state_dir)
    assert active is not None
    assert (active.version, active.settings["PAYSIM_WINDOW_SECONDS"]) == (first["version"], "300")


def test_settings_diff_and_apply_change_the_running_release_settings(
    cli: CliInvoker, app: Path, tmp_path: Path, state_dir: Path
) -> None:
    none_yet = cli("function", "settings", "apply", "--function-dir", str(app), "--json")
    assert none_yet.exit_code == ExitCode.CONFLICT
    assert error(none_yet)["code"] == "no_release_deployed"

    deploy(cli, package(cli, app, tmp_path / "one", "one"), app)
    (app / "settings" / "local.json").write_text(
        '{"PAYSIM_WINDOW_SECONDS": "300", "PAYSIM_RULES_FILE": "https://st.blob.core.windows.net/r.yaml?sig=abc"}'
    )
    diff = data(cli("function", "settings", "diff", "--function-dir", str(app), "--json"))
    changes = {change["name"]: change for change in diff["changes"]}
    assert changes["PAYSIM_RULES_FILE"]["after"] == "https://st.blob.core.windows.net/r.yaml?sig=****"
    assert changes["PAYSIM_BLOB_ATTEMPTS"]["change"] == "removed"

    applied = data(cli("function", "settings", "apply", "--function-dir", str(app), "--json"))
    assert applied["changes"] == diff["changes"]
    active = read_active(state_dir)
    assert active is not None
    assert active.settings["PAYSIM_RULES_FILE"].endswith("sig=abc")  # applied as written, shown masked
    again = cli("function", "settings", "apply", "--function-dir", str(app))
    assert again.exit_code == 0
    assert "nothing to do" in again.stderr


def test_what_goes_wrong_has_its_exit_code(
    cli: CliInvoker, app: Path, tmp_path: Path, state_dir: Path
) -> None:
    (app / "settings" / "local.json").write_text('{"PAYSIM_DATABASE_URL": "postgresql://x@y/z"}')
    built = package(cli, app, tmp_path / "one", "one")
    foreign = cli("function", "deploy", "--package", built["path"], "--function-dir", str(app), "--json")
    assert foreign.exit_code == ExitCode.CONFIG
    assert error(foreign)["code"] == "release_setting_not_owned"

    missing = cli("function", "deploy", "--package", str(tmp_path / "nope.zip"), "--json")
    assert (missing.exit_code, error(missing)["code"]) == (ExitCode.CONFIG, "package_not_found")

    no_host = cli("function", "deploy", "--package", built["path"], "--json")  # gated, and no host runs
    assert (no_host.exit_code, error(no_host)["code"]) == (ExitCode.UNAVAILABLE, "no_host_to_gate")
    assert read_active(state_dir) is None  # refused before anything changed

    nothing = cli("function", "rollback", "--json")
    assert (nothing.exit_code, error(nothing)["code"]) == (ExitCode.CONFLICT, "no_release_to_roll_back_to")

    unregistered = tmp_path / "unregistered"
    unregistered.mkdir()
    (unregistered / "function_app.py").write_text(
        "import azure.functions as func\napp = func.FunctionApp()\n"
    )
    (unregistered / "requirements.txt").write_text("")
    refused = cli("function", "package", "--remote-build", "--function-dir", str(unregistered), "--json")
    assert (refused.exit_code, error(refused)["code"]) == (ExitCode.CONFIG, "no_functions_registered")


@pytest.mark.parametrize("answer", ["n\n", ""])
def test_a_shared_environment_needs_confirmation_and_local_does_not(
    monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    import io

    from paysim_cli.commands.function.confirmation import confirmation
    from paysim_cli.context import AppContext
    from paysim_cli.deploy.appsettings import SettingsDiff
    from paysim_cli.errors import PaysimError
    from paysim_cli.output import Output
    from paysim_cli.settings import Settings

    diff = SettingsDiff(source="dev.json", changes=[], unchanged=[], untouched=3)
    # "n" at a terminal, or no terminal to ask at (CI without --yes): both refuse, exit 10; without a
    # terminal the refusal comes before anything is read (when the callback is made).
    state = AppContext(Settings(env="dev"), Output(json_mode=True, stdin_is_tty=bool(answer)))
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))

    def ask() -> None:
        confirm = confirmation(state, Settings(env="dev"), False, "deploy")
        assert answer, "without a terminal, making the callback refuses already"
        confirm(None, diff)

    with pytest.raises(PaysimError) as raised:
        ask()
    code = "aborted" if answer else "confirmation_required"
    assert (raised.value.code, raised.value.exit_code) == (code, ExitCode.ABORTED)
    confirmation(state, Settings(env="dev"), True, "deploy")(None, diff)
    confirmation(state, Settings(env="local"), False, "deploy")(None, diff)


def test_production_needs_its_second_flag() -> None:
    from paysim_cli.deploy.service import check_production
    from paysim_cli.errors import PaysimError
    from paysim_cli.settings import Settings

    with pytest.raises(PaysimError) as raised:
        check_production(Settings(env="production"), confirmed=False, flag="--deploy-production")
    assert (raised.value.code, raised.value.exit_code) == ("production_protected", ExitCode.ABORTED)
    assert "--deploy-production" in (raised.value.hint or "")
    check_production(Settings(env="production"), confirmed=True, flag="--deploy-production")
    check_production(Settings(env="staging"), confirmed=False, flag="--deploy-production")

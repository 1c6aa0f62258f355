"""The root app as a user runs it: global options, the error boundary, exit codes, fast --help."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import typer

from paysim_cli import __version__
from paysim_cli.app import app, main
from paysim_cli.context import app_context
from paysim_cli.errors import ExitCode, PaysimError


@pytest.fixture
def failing_command() -> object:
    """Registers a hidden command that raises what a test asks for, then removes it."""
    raised: dict[str, BaseException] = {}

    @app.command("_raise", hidden=True)
    def _raise(ctx: typer.Context) -> None:
        app_context(ctx)
        raise raised["error"]

    yield raised
    app.registered_commands[:] = [c for c in app.registered_commands if c.name != "_raise"]


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"paysim {__version__}"


def test_console_entry_point_exits_with_the_code_and_leaves_import_objects_to_no_collection(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script freezes what the imports made, so neither the command's collections nor the
    interpreter's last ones walk it (docs/health.md, Speed)."""
    gc.unfreeze()
    monkeypatch.setattr(sys, "argv", ["paysim", "--version"])
    try:
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == 0
        assert capsys.readouterr().out.strip() == f"paysim {__version__}"
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_no_command_is_a_usage_error_naming_the_usage(cli) -> None:
    result = cli()
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("error [usage_error]: Missing command.\nhint: usage: paysim [OPTIONS]")


@pytest.mark.parametrize(
    "args", [("--no-such-flag",), ("local", "nope"), ("local", "status", "--bogus"), ("config", "show", "x")]
)
def test_bad_usage_exits_2(cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.exit_code == ExitCode.USAGE
    assert "internal_error" not in result.output


def test_config_show_masks_and_names_sources(cli) -> None:
    result = cli(
        "config", "show", "--json", env={"PAYSIM_DATABASE_URL": "postgresql://admin:topsecret@db/paysim"}
    )
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in orjson.loads(result.stdout)["data"]["settings"]}
    assert rows["database_url"]["value"] == "postgresql://admin:****@db/paysim"
    assert rows["database_url"]["source"] == "env PAYSIM_DATABASE_URL"
    assert rows["database_url"]["secret"] is True
    assert rows["state_dir"]["source"] == "flag"
    assert "topsecret" not in result.output


def test_config_show_human_table(cli, tmp_path: Path) -> None:
    (tmp_path / "paysim.toml").write_text("[env.dev]\nhub_partitions = 8\n", encoding="utf-8")
    result = cli("--env", "dev", "config", "show")
    assert result.exit_code == 0
    assert "paysim settings (env dev)" in result.stdout
    assert "hub_partitions" in result.stdout


def test_broken_config_is_one_line_with_exit_code(cli, tmp_path: Path) -> None:
    (tmp_path / "paysim.toml").write_text("[env.local]\nhub_partitions = 'many'\n", encoding="utf-8")
    result = cli("config", "show")
    assert result.exit_code == ExitCode.CONFIG
    assert result.stderr.startswith("error [invalid_setting]: setting hub_partitions")
    assert "Traceback" not in result.output
    as_json = cli("--json", "config", "show")
    assert orjson.loads(as_json.stdout)["error"]["code"] == "invalid_setting"


def test_paysim_error_maps_to_its_exit_code(cli, failing_command: dict[str, BaseException]) -> None:
    failing_command["error"] = PaysimError("x_failed", "x failed", "do y", exit_code=ExitCode.CONFLICT)
    result = cli("--json", "_raise")
    assert result.exit_code == ExitCode.CONFLICT
    assert orjson.loads(result.stdout) == {
        "error": {"code": "x_failed", "message": "x failed", "hint": "do y"}
    }


def test_unexpected_error_is_named_not_a_traceback(cli, failing_command: dict[str, BaseException]) -> None:
    failing_command["error"] = ValueError("bad value")
    result = cli("_raise")
    assert result.exit_code == ExitCode.FAILURE
    assert "error [internal_error]: ValueError: bad value" in result.stderr
    assert "--traceback" in result.stderr


def test_traceback_flag_reraises(cli, failing_command: dict[str, BaseException]) -> None:
    failing_command["error"] = ValueError("bad value")
    result = cli("--traceback", "_raise")
    assert isinstance(result.exception, ValueError)
    failing_command["error"] = PaysimError("x", "y")
    result = cli("--traceback", "_raise")
    assert isinstance(result.exception, PaysimError)


def test_interrupt_exits_130(cli, failing_command: dict[str, BaseException]) -> None:
    failing_command["error"] = KeyboardInterrupt()
    result = cli("_raise")
    assert result.exit_code == ExitCode.INTERRUPTED


def test_help_imports_no_heavy_library() -> None:
    """`paysim --help` must stay instant: no SDK, database driver or numpy on the import path."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from paysim_cli.app import app\n"
        "CliRunner().invoke(app, ['--help'])\n"
        "heavy = [m for m in ('numpy', 'psycopg', 'azure', 'yaml', 'python_terraform') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == ""

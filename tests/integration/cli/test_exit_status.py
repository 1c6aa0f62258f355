"""The CLI's contract, failure mode by failure mode (httpie's test_exit_status is the model).

For each way a command can fail: the exit code the README's table gives it; for people, exactly one
`error [code]: ...` line and one `hint: ...` line on stderr (plus the report on stdout where the
command has one); with `--json`, one JSON error document on stdout and nothing else there. A hint
names only options that exist, and the `paysim ...` commands it suggests parse.
"""

from __future__ import annotations

import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from command_lines import cli_command, parse, verbs
from typer.testing import CliRunner, Result

from paysim_cli.app import app
from paysim_cli.errors import ExitCode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.settings import Settings

PROJECT = Path(__file__).resolve().parents[3]
TERRAFORM_FIXTURE = PROJECT / "tests" / "fixtures" / "terraform" / "root"


@dataclass(frozen=True)
class Failure:
    """One failure mode: the command line, its exit code and error code."""

    name: str
    args: tuple[str, ...]
    exit_code: ExitCode
    code: str
    report: bool = False  # people also get the command's report on stdout
    progress: bool = False  # a status line on stderr comes first (terraform ran, then failed)
    json_only: bool = False  # the human form would not end (--follow)
    env: dict[str, str] = field(default_factory=dict)


def failure(name: str, line: str, exit_code: ExitCode, code: str, **extra: Any) -> Failure:
    return Failure(name, tuple(line.split()), exit_code, code, **extra)


U, C, A, X, F, V = (
    ExitCode.USAGE,
    ExitCode.CONFIG,
    ExitCode.UNAVAILABLE,
    ExitCode.CONFLICT,
    ExitCode.ABORTED,
    ExitCode.VERIFY_FAILED,
)
# Failure modes that need no running service: paths in {braces} are made by the `world` fixture.
OFFLINE = [
    failure("health of a stopped stack", "health", ExitCode.UNHEALTHY, "unhealthy", report=True),
    failure("health interval without watch", "health 5", U, "unexpected_argument"),
    failure("health bad threshold", "health --threshold bogus", U, "invalid_threshold"),
    failure("simulate rate out of range", "simulate --rate 0", U, "invalid_option"),
    failure("simulate two stop rules", "simulate --duration 1 --count 1", U, "conflicting_options"),
    failure("simulate bad run id", "simulate --run-id ../x --count 1", U, "invalid_option"),
    failure("simulate bad start time", "simulate --start-time yesterday", U, "invalid_option"),
    failure("simulate without a hub", "simulate --count 10", A, "hub_not_found"),
    failure("pipeline wait out of range", "pipeline run --max-wait-ms 70000", U, "invalid_option"),
    failure("pipeline without a stack", "pipeline run --until-drained", A, "database_not_configured"),
    failure("demo rate out of range", "demo --rate 2000000", U, "invalid_option"),
    failure("demo duration out of range", "demo --duration 1000000", U, "invalid_option"),
    failure("demo off the local stack", "--env dev demo", C, "demo_needs_local"),
    failure("verify an unknown run", "verify nope", C, "run_not_found"),
    failure("runs show an unknown run", "runs show nope", C, "run_not_found"),
    failure("runs report an unknown run", "runs report nope", C, "run_not_found"),
    failure("runs compare an unknown run", "runs compare nope other", C, "run_not_found"),
    failure("runs compare a run with itself", "runs compare nope nope", U, "same_run"),
    failure("simulate --report without a hub", "simulate --count 10 --report r.html", A, "hub_not_found"),
    failure("archive check without a stack", "archive check", A, "database_not_configured"),
    failure("archive repair without a stack", "archive repair", A, "database_not_configured"),
    failure("dlq list without a stack", "dlq list", A, "database_not_configured"),
    failure("dlq list an unknown code", "dlq list --code bogus", U, "invalid_option"),
    failure("dlq replay a replayed status", "dlq replay --status replayed", U, "usage_error"),
    failure("dlq replay a bad edit file", "dlq replay --from-file {broken_profile}", C, "invalid_edit_file"),
    failure("dlq discard without a stack", "dlq discard --reason spam", A, "database_not_configured"),
    failure("dlq export over a file", "dlq export --output {broken_profile}", U, "output_exists"),
    failure("an unknown environment", "--env prod config show", C, "unknown_environment"),
    failure("a missing settings file", "--config missing.toml config show", C, "config_not_found"),
    failure("verbose and quiet", "--verbose --quiet config show", U, "conflicting_options"),
    failure("the stack is down", "local status", A, "stack_unhealthy", report=True),
    failure("reset without confirmation", "local reset", F, "confirmation_required"),
    failure("follow logs as JSON", "local logs --follow", U, "conflicting_options", json_only=True),
    failure("a port in use", "local up", X, "port_in_use", env={"PAYSIM_POSTGRES_PORT": "{busy_port}"}),
    failure("db status without a stack", "db status", A, "database_not_configured"),
    failure("db migrate without a stack", "db migrate", A, "database_not_configured"),
    failure("db verify without a stack", "db verify", A, "database_not_configured"),
    failure("db rollback without a stack", "db rollback --steps 1", A, "database_not_configured"),
    failure("db rollback without a target", "db rollback", U, "invalid_migration_target"),
    failure(
        "db unreachable", "db status --database-url postgresql://u@127.0.0.1:1/x", A, "database_unreachable"
    ),
    failure("db new bad name", "db new Bad-Name --sql-dir {sql}", U, "invalid_migration_name"),
    failure("db new existing name", "db new payment_metrics --sql-dir {sql}", X, "migration_exists"),
    failure("metrics without a stack", "metrics show", A, "database_not_configured"),
    failure("clusters without a stack", "metrics cluster", A, "database_not_configured"),
    failure("clusters out of range", "metrics cluster -k 1", U, "invalid_option"),
    failure("hub info without a log", "hub info", A, "hub_not_found"),
    failure("hub info on dev", "--env dev hub info", C, "eventhub_not_configured"),
    failure("hub send a missing file", "hub send --file missing.ndjson", C, "file_unreadable"),
    failure("hub peek bad position", "hub peek --from bogus", U, "invalid_position"),
    failure("an unknown profile", "profiles show nope", C, "profile_not_found"),
    failure("a broken profile", "profiles validate {broken_profile}", C, "invalid_profile"),
    failure("a missing terraform root", "infra plan --env dev --root missing", C, "terraform_root_not_found"),
    failure("infra unknown env", "infra init --env nope --root {terraform}", C, "unknown_environment"),
    failure(
        "infra output uninitialised",
        "infra output --env dev --root {terraform}",
        C,
        "not_initialized",
        progress=True,
    ),
    failure("infra up without a plan", "infra up --env dev --root {terraform} --yes", X, "no_saved_plan"),
    failure("infra down unconfirmed", "infra down --env dev --root {terraform}", F, "confirmation_required"),
    failure(
        "infra down production",
        "infra down --env production --root {terraform} --yes",
        F,
        "production_protected",
    ),
    failure(
        "function package registers nothing",
        "function package --remote-build --function-dir {no_functions} -o {tmp}/dist",
        C,
        "no_functions_registered",
        progress=True,
    ),
    failure("function deploy not a package", "function deploy --package {not_a_zip}", C, "invalid_package"),
    failure("function deploy gate out of range", "function deploy --gate-seconds -1", U, "invalid_option"),
    failure("function deploy unconfirmed", "function deploy --env dev", F, "confirmation_required"),
    failure(
        "function deploy production", "function deploy --env production --yes", F, "production_protected"
    ),
    failure("function releases without storage", "function releases --env dev", C, "blob_not_configured"),
    failure("function rollback without history", "function rollback", X, "no_release_to_roll_back_to"),
    failure(
        "function rollback production", "function rollback --env production --yes", F, "production_protected"
    ),
    failure("function status without storage", "function status --env dev", C, "blob_not_configured"),
    failure(
        "function settings diff bad file",
        "function settings diff --function-dir {foreign_settings}",
        C,
        "release_setting_not_owned",
    ),
    failure(
        "function settings diff without an app",
        "function settings diff --env dev",
        C,
        "function_app_not_configured",
    ),
    failure("function settings apply without a release", "function settings apply", X, "no_release_deployed"),
    failure(
        "function settings apply production",
        "function settings apply --env production --yes",
        F,
        "production_protected",
    ),
]
# Failure modes on a real PostgreSQL: {empty} is an empty database, {migrated} a migrated one.
DATABASE = [
    failure("db verify pending", "db verify --database-url {empty}", V, "migrations_pending"),
    failure(
        "db credentials refused", "db status --database-url {bad_user}", ExitCode.AUTH, "database_auth_failed"
    ),
    failure("metrics unmigrated", "metrics show --database-url {empty}", C, "schema_not_migrated"),
    failure("dlq unmigrated", "dlq stats --database-url {empty}", C, "schema_not_migrated"),
    failure("dlq show an unknown id", "dlq show 99 --database-url {migrated}", U, "failed_item_not_found"),
    failure(
        "dlq purge unconfirmed",
        "dlq purge --older-than 1d --database-url {migrated}",
        F,
        "confirmation_required",
    ),
    failure(
        "pipeline unmigrated", "pipeline run --until-drained --database-url {empty}", C, "schema_not_migrated"
    ),
    failure(
        "migrate an empty scaffold",
        "db migrate --database-url {empty} --sql-dir {sql_empty}",
        C,
        "empty_migration",
    ),
    failure(
        "rollback unconfirmed",
        "--env staging db rollback --steps 1 --database-url {migrated}",
        F,
        "confirmation_required",
    ),
    failure(
        "rollback production",
        "--env production db rollback --steps 1 --yes --database-url {migrated}",
        F,
        "production_protected",
    ),
    failure(
        "storage credentials refused",
        "metrics cluster --database-url {migrated}",
        ExitCode.AUTH,
        "blob_auth_failed",
        env={"PAYSIM_BLOB_CONNECTION_STRING": "{bad_blob}"},
    ),
    failure(
        "a run that differs",
        "verify differs --database-url {migrated} --no-archive",
        V,
        "reconciliation_failed",
        report=True,
    ),
]
# Every verb and group refuses an option it does not have.
USAGE = [
    failure(f"{path} bad option", f"{path.removeprefix('paysim ')} --no-such-option", U, "usage_error")
    for path in sorted({path for path, _ in verbs()} | {" ".join(path.split()[:2]) for path, _ in verbs()})
]


@pytest.fixture
def world(tmp_path: Path, state_dir: Path) -> Iterator[dict[str, str]]:
    """The files the failure modes refer to, and paysim.toml naming dev, staging and production."""
    (tmp_path / "paysim.toml").write_text("[env.dev]\n[env.staging]\n[env.production]\n", encoding="utf-8")
    sql = Path(shutil.copytree(PROJECT / "sql", tmp_path / "sql"))
    sql_empty = Path(shutil.copytree(PROJECT / "sql", tmp_path / "sql_empty"))
    (sql_empty / "0999_unwritten.up.sql").write_text("-- what this migration changes, and why.\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nstages: 5\n", encoding="utf-8")
    terraform = shutil.copytree(TERRAFORM_FIXTURE, tmp_path / "terraform-root")
    not_a_zip = tmp_path / "release.zip"
    not_a_zip.write_text("not a zip\n", encoding="utf-8")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield {
            "sql": str(sql),
            "sql_empty": str(sql_empty),
            "broken_profile": str(broken),
            "terraform": str(terraform),
            "not_a_zip": str(not_a_zip),
            "no_functions": str(_function_app(tmp_path / "no-functions", {})),
            "foreign_settings": str(_function_app(tmp_path / "foreign", {"WEBSITE_RUN_FROM_PACKAGE": "1"})),
            "tmp": str(tmp_path),
            "busy_port": str(busy.getsockname()[1]),
        }


def _function_app(directory: Path, local_settings: dict[str, str]) -> Path:
    """A Function app that registers no function, with a release settings file for the local env."""
    (directory / "settings").mkdir(parents=True)
    (directory / "function_app.py").write_text("import azure.functions as func\n\napp = func.FunctionApp()\n")
    (directory / "requirements.txt").write_text("azure-functions\n")
    (directory / "settings" / "local.json").write_bytes(orjson.dumps(local_settings))
    return directory


@pytest.fixture
def databases(
    world: dict[str, str],
    database_url: str,
    migrated_database_url: str,
    postgres_port: int,
    blob_connection_string: str,
) -> dict[str, str]:
    """An empty and a migrated database, a user PostgreSQL refuses, and a run that did not reach them."""
    sent = CliRunner().invoke(
        app,
        ["--state-dir", "state", "simulate", "--count", "5", "--run-id", "differs", "--output", "x.ndjson"],
    )
    assert sent.exit_code == 0, sent.output
    return world | {
        "empty": database_url,
        "migrated": migrated_database_url,
        "bad_user": f"postgresql://nosuchuser@127.0.0.1:{postgres_port}/postgres",
        # Azurite's account with another key: every request's signature is refused.
        "bad_blob": re.sub(r"AccountKey=[^;]+", "AccountKey=d3Jvbmcga2V5", blob_connection_string),
    }


def _run(case: Failure, values: dict[str, str], json_mode: bool) -> Result:
    args = [part.format(**values) for part in case.args]
    env = {name: value.format(**values) for name, value in case.env.items()}
    return CliRunner().invoke(
        app, ["--state-dir", "state", *args, *(["--json"] if json_mode else [])], env=env
    )


def _check(case: Failure, values: dict[str, str]) -> None:
    if not case.json_only:
        human = _run(case, values, json_mode=False)
        assert human.exit_code == case.exit_code, human.output
        lines = human.stderr.splitlines()
        if case.progress:
            assert not any(line.startswith(("error", "hint", "Traceback")) for line in lines[:-2])
            lines = lines[-2:]
        assert len(lines) == 2, human.stderr
        assert lines[0].startswith(f"error [{case.code}]: "), human.stderr
        assert lines[1].startswith("hint: "), human.stderr
        assert lines[1] != "hint: ", human.stderr
        assert bool(human.stdout) == case.report, human.stdout
        _check_hint(case, lines[1].removeprefix("hint: "))
    machine = _run(case, values, json_mode=True)
    assert machine.exit_code == case.exit_code, machine.output
    document = orjson.loads(machine.stdout)  # one document: orjson refuses anything after it
    assert list(document) == ["error"]
    assert document["error"]["code"] == case.code
    assert document["error"]["hint"]


def _check_hint(case: Failure, hint: str) -> None:
    """Bare options in a hint belong to the failing command; `paysim ...` commands in it parse."""
    suggested = re.findall(r"`(paysim [^`]*)`", hint)
    bare = re.sub(r"`[^`]*`", "", hint)
    verb = _verb(case.args)
    known = {opt for param in verb.params for opt in param.opts} | {
        opt for param in cli_command().params for opt in param.opts
    }
    for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", bare):
        assert option in known, f"{case.name}: the hint names {option}, which this command lacks"
    for line in suggested:
        if not re.search(r"[A-Z]{2,}|\.\.\.|--help", line):  # placeholders like RUN_ID are for people
            parse(line)


def _verb(args: tuple[str, ...]) -> Any:
    command = cli_command()
    for word in args:
        if hasattr(command, "commands") and word in command.commands:
            command = command.commands[word]
    return command


@pytest.mark.parametrize("case", OFFLINE + USAGE, ids=[case.name for case in OFFLINE + USAGE])
def test_failure_without_services(case: Failure, world: dict[str, str]) -> None:
    _check(case, world)


@pytest.mark.parametrize("case", DATABASE, ids=[case.name for case in DATABASE])
def test_failure_with_a_database(case: Failure, databases: dict[str, str]) -> None:
    _check(case, databases)


def test_a_hub_that_refuses_an_oversized_event(
    world: dict[str, str], state_dir: Path, tmp_path: Path
) -> None:
    LocalEventLog.create(Settings(state_dir=Path("state")).event_log_path, 2).close()
    big = tmp_path / "big.ndjson"
    big.write_bytes(b"x" * (1024 * 1024 + 1) + b"\n")
    _check(failure("an oversized event", f"hub send --file {big}", C, "event_too_large"), world)


def test_every_verb_is_in_the_table() -> None:
    """A new verb must come with its failure modes."""
    covered = {" ".join(["paysim", *(_path(case.args))]) for case in OFFLINE + DATABASE}
    missing = [path for path, _ in verbs() if path not in covered and path not in ALWAYS_SUCCEED]
    assert missing == []


# Verbs with no failure mode of their own beyond a bad option (listed in USAGE).
ALWAYS_SUCCEED = {"paysim local down", "paysim config show", "paysim profiles list", "paysim runs list"}


def _path(args: tuple[str, ...]) -> list[str]:
    command, words = cli_command(), []
    for word in args:
        if hasattr(command, "commands") and word in command.commands:
            command = command.commands[word]
            words.append(word)
    return words

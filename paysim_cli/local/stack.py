"""`paysim local up | down | status | reset` as plain functions over Settings."""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from paysim_cli.confirmation import require_confirmed
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.local import amqp, azurite, postgres
from paysim_cli.local.processes import ensure_port_free, free_port, port_accepts
from paysim_cli.local.state import (
    PRIVATE_DIRECTORY,
    EndpointState,
    ProcessState,
    StackState,
    ensure_amqp_sas_key,
    ensure_postgres_password,
    load_state,
    postgres_password,
    postgres_url,
    save_state,
    secure_state_dir,
)
from paysim_cli.settings import Settings


class ComponentStatus(BaseModel):
    name: str
    healthy: bool
    pid: int | None = None
    address: str | None = None
    detail: str


class StackReport(BaseModel):
    state_dir: str
    components: list[ComponentStatus]

    @property
    def healthy(self) -> bool:
        return all(component.healthy for component in self.components)


def up(settings: Settings) -> StackReport:
    """Start whatever is not running; idempotent, and recovers from pid files a crash left behind.

    When a part fails to start, the parts this call started are stopped again: a failed `local up`
    leaves nothing running that the next one would have to clean up.
    """
    with _stack_lock(settings.state_dir):
        secure_state_dir(settings.state_dir, traverse_group=postgres.service_group())
        before = load_state(settings.state_dir)
        was_running = _running(settings, before)
        try:
            state = load_state(settings.state_dir)
            state.postgres = _up_postgres(settings, state)
            save_state(settings.state_dir, state)
            state.azurite = _up_azurite(settings, state)
            save_state(settings.state_dir, state)
            state.hub_partitions = _up_hub(settings)
            save_state(settings.state_dir, state)
            state.amqp = _up_amqp(settings, state)
            save_state(settings.state_dir, state)
        except BaseException:
            _stop_started(settings, load_state(settings.state_dir), was_running)
            raise
    report = status(settings)
    failure = unhealthy_error(report, settings)
    if failure is not None:
        raise failure
    return report


def unhealthy_error(report: StackReport, settings: Settings) -> PaysimError | None:
    """`stack_unhealthy` (exit 4) naming each part that is down or failing its probe; None when healthy."""
    unhealthy = [component for component in report.components if not component.healthy]
    if not unhealthy:
        return None
    return PaysimError(
        "stack_unhealthy",
        "; ".join(f"{component.name}: {component.detail}" for component in unhealthy),
        f"`paysim local up` starts what is down; `paysim local logs` shows the logs in {settings.state_dir}",
        exit_code=ExitCode.UNAVAILABLE,
        report=report,
    )


def _running(settings: Settings, state: StackState) -> set[str]:
    running = set()
    if postgres.EmbeddedPostgres(settings.state_dir / "postgres").running_pid() is not None:
        running.add("postgres")
    if state.azurite is not None and azurite.Azurite.running(state.azurite):
        running.add("azurite")
    if state.amqp is not None and amqp.EndpointProcess.running(state.amqp):
        running.add("amqp")
    return running


def _stop_started(settings: Settings, state: StackState, was_running: set[str]) -> None:
    """Stop what this `up` started before it failed; what was already running keeps running."""
    if "amqp" not in was_running:
        amqp.EndpointProcess.stop(state.amqp)
        state.amqp = None
    if "azurite" not in was_running:
        azurite.Azurite.stop(state.azurite)
        state.azurite = None
    if "postgres" not in was_running:
        postgres.EmbeddedPostgres(settings.state_dir / "postgres").stop()
        state.postgres = None
    save_state(settings.state_dir, state)


def _up_postgres(settings: Settings, state: StackState) -> ProcessState:
    password = ensure_postgres_password(settings.state_dir)
    server = postgres.EmbeddedPostgres(settings.state_dir / "postgres", password)
    pid = server.running_pid()
    port = server.running_port()
    if pid is not None and port is not None:
        server.require_password(port)  # a stack started before passwords: upgraded while it runs
        return ProcessState(pid=pid, port=port)
    port = _choose_port(settings.postgres_port, state.postgres, "PostgreSQL", "PAYSIM_POSTGRES_PORT")
    return server.start(port)


def _up_azurite(settings: Settings, state: StackState) -> ProcessState:
    service = azurite.Azurite(settings.state_dir / "azurite")
    if service.running(state.azurite) and state.azurite is not None:
        return state.azurite
    port = _choose_port(settings.azurite_port, state.azurite, "Azurite", "PAYSIM_AZURITE_PORT")
    return service.start(port)


def _up_hub(settings: Settings) -> int:
    from paysim_cli.hub.local_log import LocalEventLog

    settings.event_log_path.parent.mkdir(parents=True, exist_ok=True)
    log = LocalEventLog.create(settings.event_log_path, partitions=settings.hub_partitions)
    try:
        return len(log.partition_ids())
    finally:
        log.close()


def _up_amqp(settings: Settings, state: StackState) -> EndpointState:
    if amqp.EndpointProcess.running(state.amqp) and state.amqp is not None:
        return state.amqp
    # The default (5672) is a preference, not a demand: a busy 5672 must not stop the stack.
    explicit = settings.sources.get("amqp_port", "default") not in ("default", "local stack")
    port = _choose_port(
        settings.amqp_port if explicit else 0,
        state.amqp,
        "the AMQP endpoint",
        "PAYSIM_AMQP_PORT",
        preferred=0 if explicit else settings.amqp_port,
    )
    endpoint = amqp.EndpointProcess(settings.state_dir / "amqp", settings.event_log_path)
    return endpoint.start(port, settings.eventhub_name, ensure_amqp_sas_key(settings.state_dir))


def _choose_port(
    configured: int, previous: ProcessState | None, component: str, setting: str, *, preferred: int = 0
) -> int:
    """The configured port, else the one used last time when still free, else `preferred` when free,
    else any free port."""
    if configured:
        ensure_port_free(configured, component, setting)
        return configured
    for candidate in (previous.port if previous is not None else 0, preferred):
        if candidate and not port_accepts(candidate):
            return candidate
    return free_port()


def down(settings: Settings) -> StackReport:
    """Stop the AMQP endpoint, PostgreSQL (fast shutdown: clean, no data loss) and Azurite; the data stays."""
    with _stack_lock(settings.state_dir):
        state = load_state(settings.state_dir)
        amqp.EndpointProcess.stop(state.amqp)
        postgres.EmbeddedPostgres(settings.state_dir / "postgres").stop()
        azurite.Azurite.stop(state.azurite)
        save_state(settings.state_dir, StackState(hub_partitions=state.hub_partitions))
    return status(settings)


def reset(settings: Settings, *, confirmed: bool) -> StackReport:
    """Stop the stack and delete all its data. Refuses without explicit confirmation."""
    require_confirmed(
        confirmed,
        f"reset deletes every local database, blob and event under {settings.state_dir}",
        "run `paysim local reset --yes` to confirm",
    )
    down(settings)
    for part in ("postgres", "azurite", "hub", "amqp", "runs", "secrets"):
        shutil.rmtree(settings.state_dir / part, ignore_errors=True)
    save_state(settings.state_dir, StackState())
    return status(settings)


def status(settings: Settings) -> StackReport:
    """Each part with pid, address and a live health probe."""
    state = load_state(settings.state_dir)
    return StackReport(
        state_dir=str(settings.state_dir),
        components=[
            _postgres_status(settings),
            _azurite_status(state),
            _hub_status(settings),
            _amqp_status(state),
        ],
    )


def _postgres_status(settings: Settings) -> ComponentStatus:
    server = postgres.EmbeddedPostgres(settings.state_dir / "postgres")
    pid, port = server.running_pid(), server.running_port()
    if pid is None or port is None:
        return ComponentStatus(name="postgres", healthy=False, detail="not running; run `paysim local up`")
    problem = postgres.probe(postgres_url(port, postgres_password(settings.state_dir)))
    return ComponentStatus(
        name="postgres",
        healthy=problem is None,
        pid=pid,
        address=f"127.0.0.1:{port}",
        detail=problem or f"accepting queries (database {postgres.DATABASE})",
    )


def _azurite_status(state: StackState) -> ComponentStatus:
    if state.azurite is None or not azurite.Azurite.running(state.azurite):
        return ComponentStatus(name="azurite", healthy=False, detail="not running; run `paysim local up`")
    problem = azurite.probe(state.azurite.port)
    return ComponentStatus(
        name="azurite",
        healthy=problem is None,
        pid=state.azurite.pid,
        address=f"http://127.0.0.1:{state.azurite.port}",
        detail=problem or "blob service answering",
    )


def _hub_status(settings: Settings) -> ComponentStatus:
    from paysim_cli.hub.local_log import LocalEventLog

    path = settings.event_log_path
    try:
        log = LocalEventLog.open(path)
    except PaysimError as error:
        return ComponentStatus(name="hub", healthy=False, address=str(path), detail=error.message)
    try:
        partitions = log.partition_ids()
        events = sum(
            0 if info.is_empty else info.last_enqueued_sequence_number - info.beginning_sequence_number + 1
            for info in (log.partition_info(pid) for pid in partitions)
        )
    finally:
        log.close()
    return ComponentStatus(
        name="hub",
        healthy=True,
        address=str(path),
        detail=f"{len(partitions)} partitions, {events} events retained",
    )


def _amqp_status(state: StackState) -> ComponentStatus:
    if not amqp.EndpointProcess.running(state.amqp) or state.amqp is None:
        return ComponentStatus(name="amqp", healthy=False, detail="not running; run `paysim local up`")
    problem = amqp.probe(state.amqp.port)
    return ComponentStatus(
        name="amqp",
        healthy=problem is None,
        pid=state.amqp.pid,
        address=f"amqp://127.0.0.1:{state.amqp.port}",
        detail=problem or f"Event Hubs AMQP endpoint serving hub {state.amqp.eventhub_name}",
    )


@contextmanager
def _stack_lock(state_dir: Path) -> Iterator[None]:
    """Two `local up`/`down` at once would race on ports and pid files: serialize them."""
    state_dir.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    with (state_dir / ".stack.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

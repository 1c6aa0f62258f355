"""Rendering: Rich for people, `{"data": ...}` / `{"error": ...}` JSON for machines, secrets masked."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import orjson
from pydantic import BaseModel

from paysim_cli.errors import PaysimError
from paysim_cli.secrets import mask_secrets

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for pydantic models, dataclasses, paths, enums and datetimes."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def dumps_json(payload: Any, *, indent: bool = True) -> str:
    option = orjson.OPT_INDENT_2 if indent else 0
    return mask_secrets(orjson.dumps(to_jsonable(payload), option=option).decode())


class GitHubActions:
    """CI-native output under GitHub Actions: workflow-command annotations and the job's step summary.

    Annotations go to stderr, which the runner scans for workflow commands as it does stdout, so that
    stdout stays one JSON document in --json mode. The summary is Markdown appended to the file
    $GITHUB_STEP_SUMMARY names.
    """

    def __init__(self, stream: IO[str], summary_path: Path | None) -> None:
        self.stream = stream
        self.summary_path = summary_path

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], stream: IO[str]) -> GitHubActions | None:
        if environ.get("GITHUB_ACTIONS") != "true":
            return None
        summary = environ.get("GITHUB_STEP_SUMMARY")
        return cls(stream, Path(summary) if summary else None)

    def annotate(self, level: Literal["error", "warning", "notice"], title: str, message: str) -> None:
        """One `::error title=...::message` line (or warning, notice), escaped as the runner expects."""
        self.stream.write(f"::{level} title={_escape_property(title)}::{_escape_data(message)}\n")
        self.stream.flush()

    def append_summary(self, markdown: str) -> None:
        if self.summary_path is None:
            return
        with self.summary_path.open("a", encoding="utf-8") as summary:
            summary.write(mask_secrets(markdown).rstrip("\n") + "\n\n")


def _escape_data(text: str) -> str:
    return mask_secrets(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def markdown_cell(value: object) -> str:
    """A value for a Markdown table cell: one line, pipes escaped, secrets masked."""
    return mask_secrets(" ".join(str(value).split())).replace("|", "\\|")


class Output:
    """Where a command's result goes. Streams and TTY state are injected so tests can simulate them."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        verbose: bool = False,
        quiet: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        is_tty: bool | None = None,
        stdin_is_tty: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.is_tty = self.stdout.isatty() if is_tty is None else is_tty
        # Whether a person can answer a confirmation prompt.
        self.stdin_is_tty = _isatty(sys.stdin) if stdin_is_tty is None else stdin_is_tty
        self.github = GitHubActions.from_environ(os.environ if environ is None else environ, self.stderr)
        self._console: Console | None = None
        self._err_console: Console | None = None

    @property
    def interactive(self) -> bool:
        """Live views, spinners and colour only for a person at a terminal who did not ask for --quiet."""
        return self.is_tty and not self.json_mode and not self.quiet

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = self._make_console(self.stdout)
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            self._err_console = self._make_console(self.stderr)
        return self._err_console

    def _make_console(self, stream: IO[str]) -> Console:
        from rich.console import Console

        return Console(
            file=stream,
            force_terminal=self.is_tty,
            no_color=not self.is_tty,
            highlight=False,
            soft_wrap=not self.is_tty,
            width=None if self.is_tty else 120,
        )

    def result(self, data: Any, render: Callable[[Console], None] | None = None) -> None:
        """The command's one result: JSON `{"data": ...}` or a human rendering of the same data."""
        if self.json_mode:
            self.stdout.write(dumps_json({"data": data}) + "\n")
            self.stdout.flush()
            return
        if render is None:
            self.stdout.write(dumps_json(data) + "\n")
            return
        render(self.console)

    def outcome(
        self, data: Any, render: Callable[[Console], None] | None, failure: PaysimError | None
    ) -> None:
        """Print `data`; when `failure` is given, raise it for the root app to exit with. In --json mode
        the report travels inside the error document instead, so stdout carries exactly one document."""
        if failure is None or not self.json_mode:
            self.result(data, render)
        if failure is not None:
            if failure.report is None:
                failure.report = data
            raise failure

    def error(self, error: PaysimError) -> None:
        if self.github is not None:
            hint = f" (hint: {error.hint})" if error.hint else ""
            self.github.annotate("error", f"paysim: {error.code}", f"{error.message}{hint}")
        if self.json_mode:
            payload: dict[str, Any] = dict(error.to_dict())
            if error.report is not None and "report" not in payload:
                payload["report"] = to_jsonable(error.report)
            self.stdout.write(dumps_json({"error": payload}) + "\n")
            self.stdout.flush()
            return
        line = f"error [{error.code}]: {mask_secrets(error.message)}"
        self.stderr.write(line + "\n")
        if error.hint:
            self.stderr.write(f"hint: {mask_secrets(error.hint)}\n")
        self.stderr.flush()

    def annotate(self, level: Literal["error", "warning", "notice"], title: str, message: str) -> None:
        """A GitHub Actions annotation when running there; nothing anywhere else."""
        if self.github is not None:
            self.github.annotate(level, title, message)

    def step_summary(self, markdown: str) -> None:
        """Markdown for the GitHub Actions job summary when running there; nothing anywhere else."""
        if self.github is not None:
            self.github.append_summary(markdown)

    def status(self, message: str) -> None:
        """A progress line for people, on stderr; silent in --json and --quiet modes."""
        if self.json_mode or self.quiet:
            return
        self.stderr.write(mask_secrets(message) + "\n")
        self.stderr.flush()

    def warn(self, message: str) -> None:
        """A warning, on stderr in both modes (stdout stays machine-readable)."""
        self.stderr.write(f"warning: {mask_secrets(message)}\n")
        self.stderr.flush()

    @contextmanager
    def progress(self, description: str) -> Iterator[Progress | None]:
        """A Rich progress display at a terminal; None otherwise (callers print periodic lines)."""
        if not self.interactive:
            self.status(description)
            yield None
            return
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=self.err_console,
            transient=True,
        ) as progress:
            yield progress


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: str) -> str:
    """Text from outside (a log line, a payload) made inert for a terminal: control characters escaped."""
    return _CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """`1 event`, `2 events`, `1,000 batches`: a count with its noun in the right number."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {plural_noun or noun + ('es' if noun.endswith(('s', 'ch', 'sh', 'x')) else 's')}"


def duration_ms(milliseconds: float) -> str:
    """A latency for people: `140.2 ms` below 10 s, `148.5 s` above (`148,497.0 ms` reads badly)."""
    if milliseconds >= 10_000:
        return f"{milliseconds / 1000:,.1f} s"
    return f"{milliseconds:,.1f} ms"


def latencies(summary: Any) -> str:
    """`p50 / p95 / p99` of a latency summary, each in the unit that reads best."""
    return " / ".join(duration_ms(value) for value in (summary.p50, summary.p95, summary.p99))

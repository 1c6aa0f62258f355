"""The local stack's logs: where each service writes, their last lines, and following them as they grow."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from paysim_cli.settings import Settings


class Component(StrEnum):
    POSTGRES = "postgres"
    AZURITE = "azurite"
    AMQP = "amqp"


FOLLOW_POLL_SECONDS = 0.25


class ComponentLog(BaseModel):
    component: Component
    path: Path
    exists: bool
    lines: list[str]


def log_paths(settings: Settings) -> dict[Component, Path]:
    """Where each service of the stack writes its output (the services decide; this only asks them)."""
    from paysim_cli.local.amqp import EndpointProcess
    from paysim_cli.local.azurite import Azurite
    from paysim_cli.local.postgres import EmbeddedPostgres

    state = settings.state_dir
    return {
        Component.POSTGRES: EmbeddedPostgres(state / "postgres").log_file,
        Component.AZURITE: Azurite(state / "azurite").log_file,
        Component.AMQP: EndpointProcess(state / "amqp", settings.event_log_path).log_file,
    }


def tail_logs(settings: Settings, components: Sequence[Component], lines: int) -> list[ComponentLog]:
    """The last `lines` lines of each component's log (all of them when `components` is empty)."""
    paths = log_paths(settings)
    return [
        ComponentLog(
            component=name, path=paths[name], exists=paths[name].is_file(), lines=_last(paths[name], lines)
        )
        for name in components or list(Component)
    ]


def follow_logs(
    settings: Settings,
    components: Sequence[Component],
    on_line: Callable[[Component, str], None],
    should_stop: Callable[[], bool],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call `on_line` for every line written to the logs from now on, until `should_stop`.

    A log that is truncated or replaced (a reset) is read again from its start.
    """
    paths = log_paths(settings)
    offsets = {name: _size(paths[name]) for name in components or list(Component)}
    partial = dict.fromkeys(offsets, b"")
    while not should_stop():
        for name, read_to in offsets.items():
            size = _size(paths[name])
            start = 0 if size < read_to else read_to  # shorter than read: truncated or replaced
            if size == start:
                continue
            with paths[name].open("rb") as handle:
                handle.seek(start)
                chunk = partial[name] + handle.read(size - start)
            offsets[name] = size
            *complete, partial[name] = chunk.split(b"\n")
            for line in complete:
                on_line(name, line.decode("utf-8", errors="replace"))
        sleep(FOLLOW_POLL_SECONDS)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _last(path: Path, lines: int) -> list[str]:
    if not path.is_file() or lines <= 0:
        return []
    # Logs grow without bound: read only the end, enough for `lines` lines of a reasonable width.
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - lines * 512))
        text = handle.read().decode("utf-8", errors="replace")
    return text.splitlines()[-lines:]

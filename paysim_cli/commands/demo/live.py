"""What the demo shows while it runs: a line per stage, then the live view of the stage in progress."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import Any

from paysim_cli.commands.pipeline.live import host_view
from paysim_cli.commands.simulate.live import live_view
from paysim_cli.output import Output
from paysim_cli.pipeline.report import HostProgress
from paysim_cli.simulator.progress import RunProgress

# A live view: entered, it gives the callback to show progress with (None: show nothing).
View = Callable[[Output], AbstractContextManager[Any]]


class DemoView:
    """Switches between the simulator's and the host's live views as the demo moves from stage to stage."""

    def __init__(self, output: Output) -> None:
        self._output = output
        self._views = ExitStack()
        self._current: View | None = None
        self._update: Callable[[Any], None] | None = None

    def __enter__(self) -> DemoView:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._views.close()

    def stage(self, message: str) -> None:
        self._views.close()
        self._current = None
        self._output.status(f"demo: {message}")

    def simulate(self, progress: RunProgress) -> None:
        self._show(live_view, progress)

    def pipeline(self, progress: HostProgress) -> None:
        self._show(host_view, progress)

    def _show(self, view: View, progress: object) -> None:
        if self._current is not view:
            self._views.close()
            self._update = self._views.enter_context(view(self._output))
            self._current = view
        if self._update is not None:
            self._update(progress)

"""The faults of a schedule struck one after another from a thread while the run goes on, each
measured: when it struck, how long its part was down, and how long until the pipeline committed again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pydantic import BaseModel

from paysim_cli.errors import PaysimError
from paysim_cli.faults.injectors import FaultTarget
from paysim_cli.faults.monitor import ProgressMonitor
from paysim_cli.faults.schedule import ScheduledFault
from paysim_cli.faults.spec import FaultKind
from paysim_cli.secrets import mask_secrets

# A fault not recovered from within this is a failed recovery (and the run has stalled by then).
RECOVERY_TIMEOUT_SECONDS = 90.0
CHECK_SECONDS = 0.1  # between looks at the part (a poison check is a database query)
logger = logging.getLogger(__name__)


class FaultResult(BaseModel):
    number: int
    kind: FaultKind
    scheduled_at: float  # seconds into the run
    at: float  # when it struck (later than scheduled while an earlier fault was still recovering)
    detail: str
    down_seconds: float  # how long the faulted part was out (0 for a kill that nothing waits on)
    recovery_seconds: float | None  # strike -> part back and the pipeline committing; None: never
    problem: str | None = None
    killed_pids: list[int] = []  # the processes the fault ended


class FaultCampaign:
    """Strikes `schedule` against `target` in order, each after the previous one's recovery; `stop()`
    ends it before the next fault. Use as a context manager around the run."""

    def __init__(self, schedule: list[ScheduledFault], target: FaultTarget, monitor: ProgressMonitor) -> None:
        self.schedule, self.target, self.monitor = schedule, target, monitor
        self.results: list[FaultResult] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paysim-faults", daemon=True)
        self._began = 0.0

    def start(self) -> None:
        self._began = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the last fault's recovery; False if the campaign is still going after `timeout`."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        for fault in self.schedule:
            if self._stop.wait(max(0.0, fault.at - (time.monotonic() - self._began))):
                return
            result = self._strike(fault)
            self.results.append(result)
            recovery = "never" if result.recovery_seconds is None else f"{result.recovery_seconds:.2f} s"
            logger.warning(
                mask_secrets(
                    f"fault {fault.number} {fault.kind}: {result.detail}; recovered after {recovery}"
                )
            )
            if result.recovery_seconds is None:
                return  # the stack did not come back: later faults would measure nothing

    def _strike(self, fault: ScheduledFault) -> FaultResult:
        at = time.monotonic()
        result = FaultResult(
            number=fault.number,
            kind=fault.kind,
            scheduled_at=fault.at,
            at=round(at - self._began, 2),
            detail="",
            down_seconds=0.0,
            recovery_seconds=None,
        )
        try:
            struck = self.target.strike(fault.kind)
        except PaysimError as error:
            return result.model_copy(update={"detail": "not struck", "problem": error.message})
        recovered = self._recovered(struck.back, at)
        return result.model_copy(
            update={
                "detail": struck.detail,
                "down_seconds": struck.down_seconds,
                "killed_pids": list(struck.killed),
                "recovery_seconds": None if recovered is None else round(recovered - at, 2),
                "problem": struck.problem
                or (
                    None
                    if recovered is not None
                    else f"not recovered within {RECOVERY_TIMEOUT_SECONDS:.0f} s"
                ),
            }
        )

    def _recovered(self, back: Callable[[], bool], struck_at: float) -> float | None:
        """When the part was back and the pipeline had committed since (or had nothing left to do)."""
        deadline = struck_at + RECOVERY_TIMEOUT_SECONDS
        while not back():
            if time.monotonic() >= deadline:
                return None
            time.sleep(CHECK_SECONDS)
        commits, _, _ = self.monitor.snapshot()
        while True:
            seen, lag, backlog = self.monitor.snapshot()
            if seen > commits or lag + backlog == 0:
                return time.monotonic()
            if time.monotonic() >= deadline:
                return None
            time.sleep(CHECK_SECONDS)

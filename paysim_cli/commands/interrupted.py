"""How a long-running verb ends after SIGINT or SIGTERM: its report, then exit 130 or 143."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from paysim_cli.errors import PaysimError
from paysim_cli.interrupts import exit_code_for
from paysim_cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console


def finish_interruptible(
    output: Output,
    report: Any,
    render: Callable[[Console], None],
    interrupted_by: str | None,
    *,
    hint: str | None = None,
    failure: PaysimError | None = None,
) -> None:
    """Print `report`. A run a signal stopped then exits 128 + the signal (the report is complete for
    what was done; in --json mode it travels in the error document); otherwise `failure`, if any."""
    if interrupted_by is not None:
        failure = PaysimError(
            "interrupted",
            f"stopped by {interrupted_by}; the report covers what was done until then",
            hint,
            exit_code=exit_code_for(interrupted_by),
        )
    output.outcome(report, render, failure)

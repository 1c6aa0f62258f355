"""Confirmations before a command destroys something: --yes, or a person answering at a terminal.

Where nobody can answer (CI, a pipe) and --yes was not given, the service refuses with its own error
(exit 10), which names what would have been destroyed.
"""

from __future__ import annotations

import typer

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.output import Output


def confirmed(output: Output, question: str, *, yes: bool) -> bool:
    """True with --yes or a yes at the prompt; False when there is no terminal to ask at."""
    if yes:
        return True
    if not output.stdin_is_tty:
        return False
    try:
        answer = typer.confirm(question, default=False, err=True)  # stdout stays clean for --json
    except typer.Abort:  # Ctrl-D or Ctrl-C at the prompt
        answer = False
    if not answer:
        raise PaysimError(
            "aborted",
            "not confirmed: nothing was changed",
            "answer y at the prompt, or pass --yes where nobody can answer (CI)",
            exit_code=ExitCode.ABORTED,
        )
    return True

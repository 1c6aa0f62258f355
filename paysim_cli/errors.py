"""The one exception family paysim raises, and the exit codes the root app maps it to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status, one per failure mode. Listed in the README; 2 stays Click's usage error."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    CONFIG = 3
    UNAVAILABLE = 4
    CONFLICT = 5
    DRIFT = 6
    VERIFY_FAILED = 7
    EXTERNAL = 8
    AUTH = 9
    ABORTED = 10
    UNHEALTHY = 11
    ROLLED_BACK = 12
    INTERRUPTED = 130


class PaysimError(Exception):
    """A failure the user can act on: a stable snake_case `code`, what happened, and how to fix it."""

    def __init__(
        self,
        code: str,
        message: str,
        hint: str | None = None,
        *,
        exit_code: ExitCode = ExitCode.FAILURE,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "hint": self.hint}

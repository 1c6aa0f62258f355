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
    INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
    BROKEN_PIPE = 141  # 128 + SIGPIPE: stdout closed early (`| head`), as coreutils end
    TERMINATED = 143  # 128 + SIGTERM: `timeout`, CI cancelling a job, `kill`

    @classmethod
    def for_signal(cls, signum: int) -> ExitCode:
        """The exit status a shell shows for a process that a signal stopped: 128 + its number."""
        return cls(128 + signum)


class PaysimError(Exception):
    """A failure the user can act on: a stable snake_case `code`, what happened, and how to fix it."""

    def __init__(
        self,
        code: str,
        message: str,
        hint: str | None = None,
        *,
        exit_code: ExitCode = ExitCode.FAILURE,
        report: object = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        # What the command got done before failing (a run interrupted half way): in --json mode it
        # travels inside the error document, so stdout stays one document.
        self.report = report

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "hint": self.hint}

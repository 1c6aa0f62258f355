"""A check that failed, as one error: exit 7 with the whole report inside the JSON error document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.output import to_jsonable


class FailedVerdict(PaysimError):
    """`{"error": {"code", "message", "hint", "report"}}`: `--json` keeps its one-document contract and
    scripts still get every difference."""

    def __init__(self, code: str, message: str, hint: str, report: BaseModel) -> None:
        super().__init__(code, message, hint, exit_code=ExitCode.VERIFY_FAILED)
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "report": to_jsonable(self.report)}

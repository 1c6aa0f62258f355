"""The two refusals every destructive service shares: not confirmed (no --yes, nobody to ask), and a
protected environment (production) asked only once. Both exit 10, so a script tells them from failures."""

from __future__ import annotations

from paysim_cli.errors import ExitCode, PaysimError


def require_confirmed(confirmed: bool, message: str, hint: str) -> None:
    """Raise `confirmation_required` (`message` says what would be destroyed) unless `confirmed`."""
    if not confirmed:
        raise PaysimError("confirmation_required", message, hint, exit_code=ExitCode.ABORTED)


def require_production_confirmed(
    env: str, *, protected: bool, confirmed: bool, refusal: str, flag: str, meaning: str
) -> None:
    """Raise `production_protected` for a protected `env` unless its verb's second `flag` was given:
    "`env` is protected: `refusal`", hint "add `flag` as well, if you really mean to `meaning`"."""
    if protected and not confirmed:
        raise PaysimError(
            "production_protected",
            f"{env} is protected: {refusal}",
            f"add {flag} as well, if you really mean to {meaning}",
            exit_code=ExitCode.ABORTED,
        )

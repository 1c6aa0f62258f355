"""The confirmation a `paysim function` verb asks before it changes a shared environment.

The local environment is this machine's own and needs none. Elsewhere the change is shown (stderr)
and asked about at a terminal, or passed with --yes; where nobody can answer and --yes is missing,
the verb is refused before it reads or changes anything. Production also needs the verb's
`--VERB-production` flag, which the service checks (`paysim_cli.deploy.service.check_production`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paysim_cli.commands.confirm import confirmed
from paysim_cli.context import AppContext
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.deploy.appsettings import SettingsDiff
    from paysim_cli.deploy.manifest import ReleaseManifest
    from paysim_cli.deploy.service import Confirm


def confirmation(state: AppContext, settings: Settings, yes: bool, action: str) -> Confirm:
    """The callback the service calls with what changes; `action` says it ("deploy", "roll back")."""
    if not (yes or settings.is_local or state.output.stdin_is_tty):
        raise _unconfirmed(f"{action} on {settings.env}")

    def confirm(manifest: ReleaseManifest | None, diff: SettingsDiff) -> None:
        from paysim_cli.commands.function.render import render_diff

        if not state.output.json_mode:
            console = state.output.err_console
            if manifest is not None:
                console.print(
                    f"release {manifest.version} (commit {manifest.commit or 'none'}) -> {settings.env}",
                    markup=False,
                )
            render_diff(console, diff)
        if yes or settings.is_local:
            return
        what = f"release {manifest.version}" if manifest is not None else "these settings"
        if not confirmed(state.output, f"{action.capitalize()}: {what} on {settings.env}?", yes=False):
            raise _unconfirmed(f"{action} on {settings.env}")

    return confirm


def _unconfirmed(what: str) -> PaysimError:
    return PaysimError(
        "confirmation_required",
        f"`paysim function` needs a confirmation to {what}, and no terminal can answer",
        "pass --yes where nobody can answer (CI); nothing was changed",
        exit_code=ExitCode.ABORTED,
    )

"""The release settings: the app settings a release carries, from a reviewed file per environment.

Terraform owns every other app setting (ADR 0012); `paysim function` writes only the names in
RELEASE_SETTING_NAMES, which must equal the function_app module's `release_setting_names` (a test
keeps them equal). A settings file naming anything else is refused. Values pass through as they are:
a Key Vault reference (`@Microsoft.KeyVault(...)`) is resolved by the platform, never by paysim.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

import orjson
from pydantic import BaseModel

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.secrets import MASK, mask_secrets

SETTINGS_DIR = "settings"
RELEASE_SETTING_NAMES = frozenset(
    {
        "PAYSIM_BLOB_ATTEMPTS",
        "PAYSIM_BLOB_BACKOFF_SECONDS",
        "PAYSIM_MAX_EVENT_AGE_SECONDS",
        "PAYSIM_MAX_EVENT_BYTES",
        "PAYSIM_MAX_EVENT_SKEW_SECONDS",
        "PAYSIM_RULES_FILE",
        "PAYSIM_WINDOW_SECONDS",
    }
)
# A name like these holds a secret whatever its value looks like.
_SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN|CONNECTION_?STRING|SAS|CREDENTIAL)", re.I)
KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(.*\)$", re.S)


class ChangeKind(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


class SettingChange(BaseModel):
    """One release setting that differs; values masked when they look secret."""

    name: str
    change: ChangeKind
    before: str | None
    after: str | None


class SettingsDiff(BaseModel):
    """What applying a release's settings changes in the app; the other settings stay as they are."""

    source: str  # the settings file, or the release the settings came with
    changes: list[SettingChange]
    unchanged: list[str]
    untouched: int  # settings the release does not own (Terraform's), kept as they are

    @property
    def empty(self) -> bool:
        return not self.changes


def settings_path(function_dir: Path, env: str) -> Path:
    return function_dir / SETTINGS_DIR / f"{env}.json"


def load_release_settings(path: Path) -> dict[str, str]:
    """The settings file: a JSON object of release-owned names to values; a missing file sets none."""
    if not path.exists():
        return {}
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise _invalid(path, f"not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise _invalid(path, "must be a JSON object of setting names to values")
    values: dict[str, str] = {}
    for name, value in document.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _invalid(path, f"{name}: a setting's value is text or a number, not {type(value).__name__}")
        values[name] = str(value)
    check_owned(values, str(path))
    return dict(sorted(values.items()))


def check_owned(values: Mapping[str, str], source: str) -> None:
    """Refuse names Terraform owns (the next `infra up` would revert them) or nobody does."""
    foreign = sorted(set(values) - RELEASE_SETTING_NAMES)
    if foreign:
        raise PaysimError(
            "release_setting_not_owned",
            f"{source} sets {', '.join(foreign)}, which a release does not own",
            f"a release may set only {', '.join(sorted(RELEASE_SETTING_NAMES))}; Terraform owns every other "
            "setting (ADR 0012): change it in terraform/ and `paysim infra up`",
            exit_code=ExitCode.CONFIG,
        )


def merged_settings(current: Mapping[str, str], release: Mapping[str, str]) -> dict[str, str]:
    """The app's settings with the release's applied: release-owned names the release does not set are
    removed (the function's default applies); every other setting is kept exactly."""
    kept = {name: value for name, value in current.items() if name not in RELEASE_SETTING_NAMES}
    return kept | dict(release)


def release_part(current: Mapping[str, str]) -> dict[str, str]:
    """The release-owned settings an app has now."""
    return {name: value for name, value in sorted(current.items()) if name in RELEASE_SETTING_NAMES}


def diff_settings(current: Mapping[str, str], release: Mapping[str, str], source: str) -> SettingsDiff:
    """Added, changed and removed release settings between the app now and after applying `release`."""
    now = release_part(current)
    changes, unchanged = [], []
    for name in sorted(set(now) | set(release)):
        before, after = now.get(name), release.get(name)
        if before == after:
            unchanged.append(name)
            continue
        kind = (
            ChangeKind.ADDED
            if before is None
            else ChangeKind.REMOVED
            if after is None
            else ChangeKind.CHANGED
        )
        changes.append(
            SettingChange(name=name, change=kind, before=masked(name, before), after=masked(name, after))
        )
    untouched = sum(1 for name in current if name not in RELEASE_SETTING_NAMES)
    return SettingsDiff(source=source, changes=changes, unchanged=unchanged, untouched=untouched)


def masked(name: str, value: str | None) -> str | None:
    """A value fit to print: whole when the name says secret, else with credentials inside masked; a Key
    Vault reference names a secret without holding it, so it is shown as it is."""
    if value is None or KEY_VAULT_REFERENCE.match(value):
        return value
    if _SECRET_NAME.search(name):
        return MASK
    return mask_secrets(value)


def _invalid(path: Path, reason: str) -> PaysimError:
    return PaysimError(
        "invalid_settings_file",
        f"release settings file {path}: {reason}",
        'write it as {"PAYSIM_WINDOW_SECONDS": "300", ...} with release-owned names only',
        exit_code=ExitCode.CONFIG,
    )

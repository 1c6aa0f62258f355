"""The processor's configuration, read once from the Function app's settings (PAYSIM_* variables)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "rules" / "default.yaml"
MAX_EVENT_BYTES = 1024 * 1024  # the Event Hubs maximum event size (Standard and Premium tiers)


class ConfigError(ValueError):
    """A missing or unusable setting; the message names the variable."""


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the processor needs. Times in seconds; sizes in bytes."""

    database_url: str
    database_auth: Literal["password", "entra"] = "password"
    blob_connection_string: str | None = None
    blob_account_url: str | None = None
    raw_events_container: str = "raw-events"
    eventhub_name: str = "payments"
    rules_file: Path = DEFAULT_RULES_FILE
    window_seconds: int = 300
    # An event may claim a time this far ahead of the processor's clock (producer clock skew) ...
    max_event_skew_seconds: int = 3600
    # ... and this far behind it: keep it within the dedupe table's retention and the hub's.
    max_event_age_seconds: int = 7 * 86400
    max_event_bytes: int = MAX_EVENT_BYTES
    blob_attempts: int = 4
    blob_backoff_seconds: float = 0.5

    def __post_init__(self) -> None:
        if not self.database_url:
            raise ConfigError("PAYSIM_DATABASE_URL is required")
        if (self.blob_connection_string is None) == (self.blob_account_url is None):
            raise ConfigError("set exactly one of PAYSIM_BLOB_CONNECTION_STRING and PAYSIM_BLOB_ACCOUNT_URL")
        if self.database_auth not in ("password", "entra"):
            raise ConfigError(f"PAYSIM_DATABASE_AUTH must be password or entra, not {self.database_auth!r}")
        for name, value in (
            ("PAYSIM_WINDOW_SECONDS", self.window_seconds),
            ("PAYSIM_MAX_EVENT_SKEW_SECONDS", self.max_event_skew_seconds),
            ("PAYSIM_MAX_EVENT_AGE_SECONDS", self.max_event_age_seconds),
            ("PAYSIM_MAX_EVENT_BYTES", self.max_event_bytes),
            ("PAYSIM_BLOB_ATTEMPTS", self.blob_attempts),
        ):
            if value <= 0:
                raise ConfigError(f"{name} must be positive, not {value}")
        if self.blob_backoff_seconds < 0:
            raise ConfigError(
                f"PAYSIM_BLOB_BACKOFF_SECONDS must be 0 or more, not {self.blob_backoff_seconds}"
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> PipelineConfig:
        """The configuration the app settings give; unset knobs keep their defaults."""
        values: dict[str, Any] = {"database_url": environ.get("PAYSIM_DATABASE_URL", "").strip()}
        for field, (variable, parse) in _SETTINGS.items():
            raw = environ.get(variable, "").strip()
            if not raw:
                continue
            try:
                values[field] = parse(raw)
            except ValueError:
                raise ConfigError(f"{variable} must be {_EXPECTED[parse]}, not {raw!r}") from None
        return cls(**values)


# Field -> (app setting, parser) for everything but the required database URL.
_SETTINGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "database_auth": ("PAYSIM_DATABASE_AUTH", str),
    "blob_connection_string": ("PAYSIM_BLOB_CONNECTION_STRING", str),
    "blob_account_url": ("PAYSIM_BLOB_ACCOUNT_URL", str),
    "raw_events_container": ("PAYSIM_RAW_EVENTS_CONTAINER", str),
    "eventhub_name": ("PAYSIM_EVENTHUB_NAME", str),
    "rules_file": ("PAYSIM_RULES_FILE", Path),
    "window_seconds": ("PAYSIM_WINDOW_SECONDS", int),
    "max_event_skew_seconds": ("PAYSIM_MAX_EVENT_SKEW_SECONDS", int),
    "max_event_age_seconds": ("PAYSIM_MAX_EVENT_AGE_SECONDS", int),
    "max_event_bytes": ("PAYSIM_MAX_EVENT_BYTES", int),
    "blob_attempts": ("PAYSIM_BLOB_ATTEMPTS", int),
    "blob_backoff_seconds": ("PAYSIM_BLOB_BACKOFF_SECONDS", float),
}
_EXPECTED: dict[Callable[[str], Any], str] = {
    str: "text",
    Path: "a path",
    int: "an integer",
    float: "a number",
}

"""PipelineConfig from the Function app's settings: defaults, parsing, and errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from paysim_pipeline.config import DEFAULT_RULES_FILE, ConfigError, PipelineConfig

BASE = {
    "PAYSIM_DATABASE_URL": "postgresql://fn@db.example.com/paysim",
    "PAYSIM_BLOB_ACCOUNT_URL": "https://x/",
}


def test_defaults_apply_to_what_is_not_set() -> None:
    config = PipelineConfig.from_environment(BASE)
    assert (config.database_auth, config.raw_events_container, config.eventhub_name) == (
        "password",
        "raw-events",
        "payments",
    )
    assert (config.window_seconds, config.max_event_skew_seconds, config.max_event_age_seconds) == (
        300,
        3600,
        604800,
    )
    assert config.rules_file == DEFAULT_RULES_FILE


def test_every_knob_is_read_from_its_app_setting() -> None:
    config = PipelineConfig.from_environment(
        {
            **BASE,
            "PAYSIM_DATABASE_AUTH": "entra",
            "PAYSIM_RAW_EVENTS_CONTAINER": "raw",
            "PAYSIM_EVENTHUB_NAME": "evh",
            "PAYSIM_RULES_FILE": "/etc/rules.yaml",
            "PAYSIM_WINDOW_SECONDS": "60",
            "PAYSIM_MAX_EVENT_SKEW_SECONDS": " 10 ",
            "PAYSIM_MAX_EVENT_AGE_SECONDS": "20",
            "PAYSIM_MAX_EVENT_BYTES": "1000",
            "PAYSIM_BLOB_ATTEMPTS": "2",
            "PAYSIM_BLOB_BACKOFF_SECONDS": "0.25",
            "PAYSIM_CONSUMER_GROUP": "ignored by the processor",
        }
    )
    assert config.database_auth == "entra"
    assert config.rules_file == Path("/etc/rules.yaml")
    assert (config.window_seconds, config.max_event_skew_seconds, config.max_event_age_seconds) == (
        60,
        10,
        20,
    )
    assert (config.max_event_bytes, config.blob_attempts, config.blob_backoff_seconds) == (1000, 2, 0.25)
    assert (config.raw_events_container, config.eventhub_name) == ("raw", "evh")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"PAYSIM_BLOB_ACCOUNT_URL": "https://x/"}, "PAYSIM_DATABASE_URL is required"),
        ({**BASE, "PAYSIM_BLOB_CONNECTION_STRING": "UseDevelopmentStorage=true"}, "exactly one of"),
        ({"PAYSIM_DATABASE_URL": "postgresql://x/y"}, "exactly one of"),
        ({**BASE, "PAYSIM_DATABASE_AUTH": "kerberos"}, "password or entra, not 'kerberos'"),
        ({**BASE, "PAYSIM_WINDOW_SECONDS": "five"}, "PAYSIM_WINDOW_SECONDS must be an integer, not 'five'"),
        ({**BASE, "PAYSIM_WINDOW_SECONDS": "0"}, "PAYSIM_WINDOW_SECONDS must be positive"),
        ({**BASE, "PAYSIM_BLOB_BACKOFF_SECONDS": "soon"}, "must be a number, not 'soon'"),
        ({**BASE, "PAYSIM_BLOB_BACKOFF_SECONDS": "-1"}, "PAYSIM_BLOB_BACKOFF_SECONDS must be 0 or more"),
    ],
)
def test_unusable_settings_are_named(environment: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        PipelineConfig.from_environment(environment)

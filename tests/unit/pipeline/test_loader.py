"""Loading the Function app as the Python worker indexes it, and the app settings it is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.pipeline.loader import DEFAULT_FUNCTION_DIR, app_settings, load_function
from paysim_cli.settings import Settings

TRIGGER = """
import azure.functions as func

app = func.FunctionApp()


@app.event_hub_message_trigger(arg_name="batch", event_hub_name="hub", connection="C"{options})
def consume(batch):
    return None
"""


def _app(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "app"
    directory.mkdir(exist_ok=True)
    (directory / "function_app.py").write_text(text)
    return directory


def test_the_test_app_and_the_pipeline_app_load(fixture_app: Path) -> None:
    hosted = load_function(fixture_app, "record_batches")
    assert (hosted.name, hosted.parameter) == ("record_batches", "events")
    assert callable(hosted.user_function)
    assert load_function(DEFAULT_FUNCTION_DIR, "process_payment_events").parameter == "events"


def test_a_batch_trigger_given_as_strings_loads(tmp_path: Path) -> None:
    directory = _app(tmp_path, TRIGGER.format(options=', cardinality="many", data_type="binary"'))
    assert load_function(directory, "consume").parameter == "batch"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (', data_type="binary"', "cardinality is not many"),
        (', cardinality="many", data_type="string"', "data_type is not binary"),
        ("", "cardinality is not many; data_type is not binary"),
    ],
)
def test_a_trigger_the_host_cannot_feed_is_refused(tmp_path: Path, options: str, problem: str) -> None:
    directory = _app(tmp_path, TRIGGER.format(options=options))
    with pytest.raises(PaysimError) as raised:
        load_function(directory, "consume")
    assert (raised.value.code, raised.value.exit_code) == ("function_trigger_unsupported", ExitCode.CONFIG)
    assert problem in raised.value.message


def test_a_function_without_an_event_hub_trigger_is_refused(tmp_path: Path) -> None:
    directory = _app(
        tmp_path,
        "import azure.functions as func\napp = func.FunctionApp()\n\n"
        '@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")\ndef tick(timer):\n    return None\n',
    )
    with pytest.raises(PaysimError, match="not an event_hub_message_trigger"):
        load_function(directory, "tick")


def test_an_unknown_function_names_the_registered_ones(fixture_app: Path) -> None:
    with pytest.raises(PaysimError) as raised:
        load_function(fixture_app, "nope")
    assert raised.value.code == "function_not_found"
    assert raised.value.hint == "functions registered: record_batches"


def test_a_directory_without_an_app(tmp_path: Path) -> None:
    with pytest.raises(PaysimError) as raised:
        load_function(tmp_path, "anything")
    assert (raised.value.code, raised.value.exit_code) == ("function_app_not_found", ExitCode.CONFIG)


def test_an_app_that_fails_to_import(tmp_path: Path) -> None:
    directory = _app(tmp_path, "raise RuntimeError('no settings')\n")
    with pytest.raises(PaysimError) as raised:
        load_function(directory, "anything")
    assert raised.value.code == "function_app_import_failed"
    assert "RuntimeError: no settings" in raised.value.message


def test_an_app_must_define_exactly_one_function_app(tmp_path: Path) -> None:
    directory = _app(
        tmp_path, "import azure.functions as func\none = func.FunctionApp()\ntwo = func.FunctionApp()\n"
    )
    with pytest.raises(PaysimError, match="defines 2 FunctionApp objects"):
        load_function(directory, "anything")


def test_app_settings_as_the_function_app_reads_them(settings: Settings) -> None:
    configured = settings.override(
        database_url="postgresql://app@db/paysim",
        blob_connection_string="UseDevelopmentStorage=true",
        blob_account_url="https://account.blob.core.windows.net",
        eventhub_name="payments-dev",
    )
    assert app_settings(configured, "pipeline") == {
        "PAYSIM_EVENTHUB_NAME": "payments-dev",
        "PAYSIM_CONSUMER_GROUP": "pipeline",
        "PAYSIM_DATABASE_URL": "postgresql://app@db/paysim",
        "PAYSIM_DATABASE_AUTH": "password",
        "PAYSIM_RAW_EVENTS_CONTAINER": "raw-events",
        "PAYSIM_BLOB_CONNECTION_STRING": "UseDevelopmentStorage=true",
    }
    by_account = settings.override(
        database_url="postgresql://app@db/paysim", blob_account_url="https://account.blob.core.windows.net"
    )
    assert app_settings(by_account, "g")["PAYSIM_BLOB_ACCOUNT_URL"] == "https://account.blob.core.windows.net"


def test_app_settings_need_a_database_and_blob_storage(settings: Settings) -> None:
    with pytest.raises(PaysimError, match="no database"):
        app_settings(settings, "g")
    with pytest.raises(PaysimError) as raised:
        app_settings(settings.override(database_url="postgresql://app@db/paysim"), "g")
    assert (raised.value.code, raised.value.exit_code) == ("blob_not_configured", ExitCode.UNAVAILABLE)

"""Loads the Function app the way the Python worker indexes it, and finds the Event Hub function to host.

The worker imports `function_app.py` with the app's directory on `sys.path`, takes the `FunctionApp`
it defines and asks it for its functions; each carries its trigger binding and the user's callable.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from paysim_cli.blob import blob_not_configured
from paysim_cli.db import require_database_url
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

DEFAULT_FUNCTION_DIR = Path(__file__).resolve().parents[2] / "function"
SCRIPT_FILE = "function_app.py"
EVENT_HUB_TRIGGER = "eventHubTrigger"


@dataclass(frozen=True)
class HostedFunction:
    """The function the host invokes: its name, the trigger's parameter name and the user's callable."""

    name: str
    parameter: str
    user_function: Callable[..., Any]


def script_path(function_dir: Path) -> Path:
    """`function_app.py` of the app in `function_dir`; `function_app_not_found` when there is none."""
    path = function_dir / SCRIPT_FILE
    if not path.is_file():
        raise PaysimError(
            "function_app_not_found",
            f"no {SCRIPT_FILE} in {function_dir}",
            "point --function-dir at the Function app's directory (the project's function/ by default)",
            exit_code=ExitCode.CONFIG,
        )
    return path


def load_function(function_dir: Path, function_name: str) -> HostedFunction:
    """Import the app in `function_dir` and return its Event Hub function `function_name`.

    The function must take batches of binary events (cardinality many, data type binary): that is what
    this host delivers, as the Functions host does for such a trigger.
    """
    path = script_path(function_dir)
    module = _import_app(path)
    apps = [value for value in vars(module).values() if _is_function_app(value)]
    if len(apps) != 1:
        raise PaysimError(
            "function_app_invalid",
            f"{path} defines {len(apps)} FunctionApp objects; the Python worker needs exactly one",
            "define one `app = func.FunctionApp()` and register blueprints on it",
            exit_code=ExitCode.CONFIG,
        )
    # get_functions() warns on the root logger that auth levels apply to HTTP functions only.
    logging.disable(logging.WARNING)
    try:
        functions = {function.get_function_name(): function for function in apps[0].get_functions()}
    finally:
        logging.disable(logging.NOTSET)
    function = functions.get(function_name)
    if function is None:
        raise PaysimError(
            "function_not_found",
            f"{path} registers no function {function_name!r}",
            f"functions registered: {', '.join(sorted(functions)) or 'none'}",
            exit_code=ExitCode.CONFIG,
        )
    from azure.functions import Cardinality, DataType

    trigger = function.get_trigger()
    problems = []
    if trigger is None or trigger.get_binding_name() != EVENT_HUB_TRIGGER:
        problems.append("its trigger is not an event_hub_message_trigger")
    else:
        if _member_name(trigger.cardinality, Cardinality) != "MANY":
            problems.append("cardinality is not many")
        if _member_name(trigger.data_type, DataType) != "BINARY":
            problems.append("data_type is not binary")
    if problems:
        raise PaysimError(
            "function_trigger_unsupported",
            f"function {function_name!r}: {'; '.join(problems)}",
            "the local host delivers batches of bytes: use event_hub_message_trigger(..., "
            "cardinality=func.Cardinality.MANY, data_type=func.DataType.BINARY)",
            exit_code=ExitCode.CONFIG,
        )
    return HostedFunction(function_name, trigger.name, function.get_user_function())


def _import_app(path: Path) -> Any:
    """Import `function_app` from `path`, replacing any app imported before (another directory's)."""
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise PaysimError("function_app_invalid", f"cannot import {path}", None, exit_code=ExitCode.CONFIG)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the app's code may raise anything: name it, stop
        del sys.modules[path.stem]
        raise PaysimError(
            "function_app_import_failed",
            f"importing {path} failed: {type(error).__name__}: {error}",
            "fix the Function app (run `python -c 'import function_app'` in its directory to see the trace)",
            exit_code=ExitCode.CONFIG,
        ) from error
    return module


def _member_name(value: object, kind: type[Enum]) -> str:
    """The enum member a binding field names: the decorators keep some as members, some as values."""
    try:
        return kind(value).name
    except ValueError:
        return str(value).upper()


def _is_function_app(value: object) -> bool:
    from azure.functions import FunctionApp

    return isinstance(value, FunctionApp)


def app_settings(settings: Settings, consumer_group: str) -> dict[str, str]:
    """The app settings the Function app reads, as `func start` exports local.settings.json's Values."""
    values = {
        "PAYSIM_EVENTHUB_NAME": settings.eventhub_name,
        "PAYSIM_CONSUMER_GROUP": consumer_group,
        "PAYSIM_DATABASE_URL": require_database_url(settings),
        "PAYSIM_DATABASE_AUTH": settings.database_auth,
        "PAYSIM_RAW_EVENTS_CONTAINER": settings.raw_events_container,
    }
    # The app takes exactly one of the two; a connection string (the local stack's) wins.
    if settings.blob_connection_string is not None:
        return values | {"PAYSIM_BLOB_CONNECTION_STRING": settings.blob_connection_string}
    if settings.blob_account_url is not None:
        return values | {"PAYSIM_BLOB_ACCOUNT_URL": settings.blob_account_url}
    raise blob_not_configured(settings)

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


@dataclass(frozen=True)
class RegisteredFunction:
    """A function the app registers, as the worker indexes it: its name and its trigger's binding type."""

    name: str
    trigger: str | None


def registered_functions(function_dir: Path) -> list[RegisteredFunction]:
    """Every function the app in `function_dir` registers, sorted by name (none is a valid answer)."""
    functions = _indexed_functions(script_path(function_dir))
    return [
        RegisteredFunction(name, None if trigger is None else str(trigger.get_binding_name()))
        for name, trigger in sorted((name, function.get_trigger()) for name, function in functions.items())
    ]


def load_function(function_dir: Path, function_name: str) -> HostedFunction:
    """Import the app in `function_dir` and return its Event Hub function `function_name`.

    The function must take batches of binary events (cardinality many, data type binary): that is what
    this host delivers, as the Functions host does for such a trigger.
    """
    path = script_path(function_dir)
    functions = _indexed_functions(path)
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


def _indexed_functions(path: Path) -> dict[str, Any]:
    """Import the app at `path` and index its one FunctionApp's functions by name, as the worker does."""
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
        return {function.get_function_name(): function for function in apps[0].get_functions()}
    finally:
        logging.disable(logging.NOTSET)


def _import_app(path: Path) -> Any:
    """Import `function_app` from `path`, replacing any app imported before (another directory's) and
    any other copy of a module the app provides, so the app runs its own `paysim_pipeline`."""
    directory = str(path.parent)
    _forget_other_copies(path.parent)
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


def unload_app(function_dir: Path) -> None:
    """Forget the app in `function_dir`: every module it provides leaves `sys.modules` (whichever copy
    was imported), and its directory leaves `sys.path`, so the next load imports another directory's
    own code. A module of the app that defines `close_processor()` is asked to close its connections."""
    _forget(_loaded_modules(function_dir))
    directory = str(function_dir)
    while directory in sys.path:
        sys.path.remove(directory)


def _loaded_modules(function_dir: Path) -> list[str]:
    names = provided_modules(function_dir)
    return [name for name in list(sys.modules) if name.split(".", 1)[0] in names]


def _forget_other_copies(function_dir: Path) -> None:
    """Drop modules named like the app's but imported from elsewhere (the project's own paysim_pipeline
    when the app is a deployed release)."""
    root = function_dir.resolve()
    others = []
    for name in _loaded_modules(function_dir):
        file = getattr(sys.modules[name], "__file__", None)
        if file is None or not Path(file).resolve().is_relative_to(root):
            others.append(name)
    _forget(others)


def _forget(loaded: list[str]) -> None:
    for name in loaded:
        close = getattr(sys.modules[name], "close_processor", None)
        if callable(close):
            try:
                close()
            except Exception as error:  # noqa: BLE001 - closing is best effort; the connections die with GC
                logging.getLogger(__name__).warning("%s.close_processor() failed: %s", name, error)
    for name in loaded:
        sys.modules.pop(name, None)


def provided_modules(function_dir: Path) -> set[str]:
    """The top-level modules and packages an app directory provides (`function_app`, `paysim_pipeline`)."""
    if not function_dir.is_dir():
        return set()
    names = {path.stem for path in function_dir.glob("*.py")}
    names |= {path.parent.name for path in function_dir.glob("*/__init__.py")}
    return names


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

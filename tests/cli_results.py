"""Reading what `paysim --json` printed: the one helper CLI tests use to check the exit code and take the
document's `data` (success) or `error` (failure), with the output in the message when the code differs."""

from __future__ import annotations

from typing import Any

import orjson
from typer.testing import Result


def json_document(result: Result, exit_code: int = 0) -> dict[str, Any]:
    """The whole JSON document on stdout, once the exit code is `exit_code`."""
    assert result.exit_code == exit_code, result.stdout + result.stderr
    document: dict[str, Any] = orjson.loads(result.stdout)
    return document


def json_data(result: Result) -> dict[str, Any]:
    """The `data` of a command that succeeded."""
    data: dict[str, Any] = json_document(result)["data"]
    return data


def json_error(result: Result, exit_code: int) -> dict[str, Any]:
    """The `error` (code, message, hint) of a command that failed with `exit_code`."""
    error: dict[str, Any] = json_document(result, exit_code)["error"]
    assert set(error) >= {"code", "message", "hint"}, error
    return error

"""Reading `paysim dlq ... --json` results in tests."""

from __future__ import annotations

from typing import Any

import orjson


def data(result: Any) -> Any:
    """The `data` document of a CLI result that must have succeeded."""
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)["data"]


def error(result: Any, exit_code: int) -> Any:
    """The `error` document of a CLI result that must have failed with `exit_code`."""
    assert result.exit_code == exit_code, result.output
    document = orjson.loads(result.stdout)
    assert set(document) == {"error"}
    return document["error"]

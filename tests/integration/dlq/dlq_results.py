"""What the DLQ tests share besides fixtures: constants, and reading `paysim ... --json` results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

PROFILES = Path(__file__).resolve().parents[3] / "profiles"
RUN_ID = "20261201T000000000Z-s3"


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

"""How a worker process (simulate, pipeline run) reports its end to the parent: a result, a
PaysimError as its fields, or a crash, never silence."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from paysim_cli.errors import ExitCode, PaysimError


@contextmanager
def reporting_errors(messages: Any, worker: int, hint: str) -> Iterator[None]:
    """Post ("error", worker, (code, message, hint, exit code)) for any failure in the block; a crash
    is re-raised after that so its traceback still reaches the worker's stderr."""
    try:
        yield
    except PaysimError as error:
        messages.put(("error", worker, (error.code, error.message, error.hint, int(error.exit_code))))
    except BaseException as error:
        crash = (
            "worker_crashed",
            f"worker {worker}: {type(error).__name__}: {error}",
            hint,
            int(ExitCode.FAILURE),
        )
        messages.put(("error", worker, crash))
        raise

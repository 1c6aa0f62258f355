"""Edit and resubmit: `paysim dlq export` writes failed items as NDJSON, an operator fixes payloads in
that file, and `paysim dlq replay --from-file` reads the edited payloads back by item id.

One document per line: the item's id, status, stage, error code and message, transaction and run ids,
source coordinates, attempts and creation time, and its payload as `payload` (UTF-8 text) or
`payload_base64` (bytes that are not UTF-8). Only `id` and one of the two payload fields are read back.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

import orjson

from paysim_cli.dlq import store
from paysim_cli.dlq.bounds import MAX_IDS
from paysim_cli.dlq.models import ExportReport, ExportRequest
from paysim_cli.dlq.payload import payload_view
from paysim_cli.dlq.triage import summary
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

EXPORT_PAGE = 1000


def export_failed_items(settings: Settings, request: ExportRequest) -> ExportReport:
    """Write the matching items, oldest first, to `request.output` (complete or not at all)."""
    output = request.output
    if output.exists() and not request.overwrite:
        raise PaysimError(
            "output_exists",
            f"{output} exists",
            "choose another --output, or add --overwrite",
            exit_code=ExitCode.USAGE,
        )
    where, params = store.conditions(request.filter)
    partial = output.with_name(f".{output.name}.partial")
    items = 0
    try:
        with store.dlq_connection(settings, "export") as conn, partial.open("wb") as stream:
            store.require_items(conn, request.filter.ids)
            after_id = 0
            while rows := conn.execute(
                store.export_query(where), {**params, "after_id": after_id, "limit": EXPORT_PAGE}
            ).fetchall():
                for row in rows:
                    stream.write(orjson.dumps(export_document(row)) + b"\n")
                items += len(rows)
                after_id = rows[-1][0]
        os.replace(partial, output)
    except OSError as error:
        raise PaysimError(
            "output_unwritable",
            f"cannot write {output}: {error.strerror}",
            "check the directory exists and is writable",
            exit_code=ExitCode.CONFIG,
        ) from error
    finally:
        partial.unlink(missing_ok=True)
    return ExportReport(output=output, items=items, bytes=output.stat().st_size)


def export_document(row: tuple[Any, ...]) -> dict[str, Any]:
    """One item's line: store.export_query's columns, its payload as text or base64."""
    document: dict[str, Any] = summary(row).model_dump(mode="json", exclude={"updated_at", "payload_bytes"})
    payload = payload_view(bytes(row[-1]))
    document["payload" if payload.encoding == "utf-8" else "payload_base64"] = payload.content
    return document


def read_edits(path: Path) -> dict[int, bytes]:
    """Item id -> payload bytes from an NDJSON file in export's format (other fields are ignored)."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as error:
        raise _invalid(path, None, f"cannot be read: {error.strerror}") from error
    edits: dict[int, bytes] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item_id, payload = _edit(path, number, line)
        if item_id in edits:
            raise _invalid(path, number, f"item {item_id} is given twice")
        edits[item_id] = payload
    if not edits:
        raise _invalid(path, None, "holds no items")
    if len(edits) > MAX_IDS:
        raise _invalid(path, None, f"holds {len(edits):,} items, more than {MAX_IDS:,} in one replay")
    return edits


def _edit(path: Path, number: int, line: bytes) -> tuple[int, bytes]:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise _invalid(path, number, f"is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise _invalid(path, number, "is not a JSON object")
    item_id = document.get("id")
    if type(item_id) is not int or item_id < 1:
        raise _invalid(path, number, "needs an `id`: the failed item's id, a positive integer")
    given = [name for name in ("payload", "payload_base64") if name in document]
    if len(given) != 1 or not isinstance(document[given[0]], str):
        raise _invalid(path, number, "needs exactly one of `payload` (text) and `payload_base64` (a string)")
    if given[0] == "payload":
        return item_id, str(document["payload"]).encode("utf-8", "surrogatepass")
    try:
        return item_id, base64.b64decode(document["payload_base64"], validate=True)
    except binascii.Error as error:
        raise _invalid(path, number, f"`payload_base64` is not base64: {error}") from error


def _invalid(path: Path, line: int | None, problem: str) -> PaysimError:
    where = f"{path}:{line}" if line is not None else str(path)
    return PaysimError(
        "invalid_edit_file",
        f"{where} {problem}",
        "write one JSON object per line with `id` and `payload` or `payload_base64`, "
        "as `paysim dlq export --output FILE` does",
        exit_code=ExitCode.CONFIG,
    )

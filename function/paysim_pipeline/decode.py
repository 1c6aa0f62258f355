"""Event bodies to JSON objects with orjson; what cannot be decoded is rejected with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from paysim_pipeline.rejection import ErrorCode, Rejection, Stage

_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def decode_bodies(
    bodies: Sequence[bytes], max_bytes: int
) -> tuple[list[dict[str, Any]], list[int], list[Rejection]]:
    """The JSON objects among `bodies`, their positions, and a rejection for every other body."""
    if bodies and max(map(len, bodies)) <= max_bytes:
        # The fast path for a batch without a bad body: one comprehension, no per-event bookkeeping.
        try:
            decoded = [orjson.loads(body) for body in bodies]
        except orjson.JSONDecodeError:
            pass
        else:
            if all(type(document) is dict for document in decoded):
                return decoded, list(range(len(bodies))), []
    documents: list[dict[str, Any]] = []
    positions: list[int] = []
    rejections: list[Rejection] = []
    loads = orjson.loads
    for position, body in enumerate(bodies):
        if len(body) > max_bytes:
            rejections.append(
                _rejected(position, ErrorCode.EVENT_TOO_LARGE, f"{len(body)} bytes, over {max_bytes}")
            )
            continue
        try:
            document = loads(body)
        except orjson.JSONDecodeError as error:
            rejections.append(_undecodable(position, body, error))
            continue
        if type(document) is not dict:
            kind = _JSON_TYPES[type(document)]
            rejections.append(_rejected(position, ErrorCode.NOT_AN_OBJECT, f"the body is a JSON {kind}"))
            continue
        documents.append(document)
        positions.append(position)
    return documents, positions, rejections


def _undecodable(position: int, body: bytes, error: orjson.JSONDecodeError) -> Rejection:
    # orjson refuses invalid UTF-8 as a JSON error; telling the two apart costs a decode on this path only.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        return _rejected(position, ErrorCode.INVALID_UTF8, str(utf8_error))
    return _rejected(position, ErrorCode.NOT_JSON, str(error))


def _rejected(position: int, code: ErrorCode, message: str) -> Rejection:
    return Rejection(position, Stage.DECODE, code, message)

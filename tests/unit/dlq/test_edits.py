"""Export documents and the edit file read back: text or base64 payloads, errors by line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from paysim_cli.dlq.edits import export_document, read_edits
from paysim_cli.errors import ExitCode, PaysimError

MOMENT = datetime(2026, 12, 1, tzinfo=UTC)


def _row(payload: bytes) -> tuple[object, ...]:
    return (
        5,
        "pending",
        "decode",
        "not_json",
        "bad",
        None,
        "1",
        9,
        "run",
        1,
        MOMENT,
        MOMENT,
        len(payload),
        payload,
    )


def test_a_payload_exports_as_text_or_base64() -> None:
    text = export_document(_row(b'{"a": "\x1b"}'))
    assert (text["id"], text["payload"], "payload_base64" in text) == (5, '{"a": "\x1b"}', False)
    assert "updated_at" not in text
    binary = export_document(_row(b"\xff\x00"))
    assert (binary["payload_base64"], "payload" in binary) == ("/wA=", False)


def test_edits_read_back_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "edits.ndjson"
    lines = [orjson.dumps(export_document(_row(b"\xff\x00"))), b"", b'{"id": 6, "payload": "{\\"x\\": 1}"}']
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert read_edits(path) == {5: b"\xff\x00", 6: b'{"x": 1}'}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{nope\n", ":1 is not JSON"),
        (b"[1]\n", ":1 is not a JSON object"),
        (b'{"payload": "x"}\n', ":1 needs an `id`"),
        (b'{"id": true, "payload": "x"}\n', ":1 needs an `id`"),
        (b'{"id": 1}\n', ":1 needs exactly one of"),
        (b'{"id": 1, "payload": "x", "payload_base64": "eA=="}\n', ":1 needs exactly one of"),
        (b'{"id": 1, "payload_base64": "not base64!"}\n', ":1 `payload_base64` is not base64"),
        (b'{"id": 1, "payload": "x"}\n{"id": 1, "payload": "y"}\n', ":2 item 1 is given twice"),
        (b"\n\n", " holds no items"),
    ],
)
def test_a_bad_edit_file_names_the_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "edits.ndjson"
    path.write_bytes(content)
    with pytest.raises(PaysimError) as raised:
        read_edits(path)
    assert (raised.value.code, raised.value.exit_code) == ("invalid_edit_file", ExitCode.CONFIG)
    assert raised.value.message.startswith(f"{path}{problem}"), raised.value.message


def test_a_missing_edit_file(tmp_path: Path) -> None:
    with pytest.raises(PaysimError, match="cannot be read"):
        read_edits(tmp_path / "missing.ndjson")

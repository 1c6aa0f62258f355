"""The NUL search the validator's fast path relies on: exact on JSON text, escapes and all."""

from __future__ import annotations

import orjson
import pytest

from paysim_pipeline.validate import holds_nul_escape


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("plain", False),
        ("a\x00b", True),
        ("\x00", True),
        ("a\\u0000b", False),  # a backslash, then the characters u0000: no NUL
        ("\\\x00", True),
        ('quote " and \\ and \n', False),
    ],
)
def test_the_json_of_a_string_holds_a_nul_escape_exactly_when_the_string_holds_a_nul(
    text: str, holds: bool
) -> None:
    assert holds_nul_escape(orjson.dumps({"field": text, "other": "x"})) is holds
    assert holds_nul_escape(orjson.dumps({f"key{text}": 1})) is holds

"""Text made storable: what PostgreSQL text and JSON text cannot hold, shown instead of refused."""

from __future__ import annotations

import orjson

from paysim_pipeline.storable import encodable_json, is_storable, storable_text


def test_nul_and_lone_surrogates_are_shown_and_long_text_is_cut() -> None:
    assert storable_text("a\x00b\ud800c") == "a\\u0000b\ufffdc"
    assert storable_text("x" * 2005) == "x" * 2000 + "... (5 more characters)"
    assert storable_text("plain") == "plain"
    assert (is_storable("plain \U0001f600"), is_storable("a\x00"), is_storable("\udfff")) == (
        True,
        False,
        False,
    )


def test_metadata_becomes_what_orjson_encodes_keeping_what_it_can() -> None:
    value = {
        "text": "lone \ud800",
        "na\udc00me": [1, 2**70, -(2**63), 2**64 - 1, 1.5, True, None, ("t", b"raw")],
        "nested": {"deep": object.__name__},
    }
    encoded = encodable_json(value)
    assert orjson.loads(orjson.dumps(encoded)) == {
        "text": "lone \ufffd",
        "na\ufffdme": [1, str(2**70), -(2**63), 2**64 - 1, 1.5, True, None, ["t", "b'raw'"]],
        "nested": {"deep": "object"},
    }

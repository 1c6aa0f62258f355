"""Every kind of malformed input ends in failed_items with its reason; it never fails its batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson


def _malformed(valid: bytes, edit_body) -> dict[str, bytes]:
    far_future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    document = orjson.loads(valid)
    return {
        "not_json": valid[: len(valid) // 2],
        "not_an_object": b"[1, 2, 3]",
        "wrong_type": edit_body(valid, amount_minor="1250"),
        "missing_field": edit_body(valid, merchant=...),
        "unknown_payment_type": edit_body(valid, payment_type="cheque"),
        "unknown_currency": edit_body(valid, currency="XYZ"),
        "negative_amount": edit_body(valid, amount_minor=-500),
        "oversize": orjson.dumps({**document, "padding": "x" * (1024 * 1024)}),
        "far_future": edit_body(valid, event_time=far_future),
        "invalid_utf8": valid.replace(b'"run_id":"', b'"run_id":"\xff\xfe'),
    }


EXPECTED = {
    "not_json": ("decode", "not_json"),
    "not_an_object": ("decode", "not_an_object"),
    "wrong_type": ("validate", "schema_violation", "amount_minor"),
    "missing_field": ("validate", "schema_violation", "merchant"),
    "unknown_payment_type": ("validate", "unknown_payment_type", "cheque"),
    "unknown_currency": ("validate", "unknown_currency", "XYZ"),
    "negative_amount": ("validate", "non_positive_amount", "-500"),
    "oversize": ("decode", "event_too_large", "1048576"),
    "far_future": ("validate", "event_time_out_of_range", "ahead of"),
    "invalid_utf8": ("decode", "invalid_utf8"),
}


def test_every_malformed_kind_is_a_failed_item_with_its_reason(
    processor, make_batch, generated_bodies, edit_body, query, totals
) -> None:
    valid = generated_bodies(3)
    malformed = _malformed(valid[0], edit_body)
    bodies = [valid[1], *malformed.values(), valid[2]]
    outcome = processor.process(make_batch(bodies, first_sequence_number=100), "2", "$Default")
    assert (outcome.processed, outcome.failed) == (2, len(malformed))

    rows = query(
        "SELECT source_sequence_number, stage, error_code, error_message, raw_payload, source_partition,"
        " source_offset, source_enqueued_time IS NOT NULL, transaction_id::text, run_id, attempts, status"
        " FROM failed_items ORDER BY source_sequence_number"
    )
    assert [row[0] for row in rows] == list(range(101, 101 + len(malformed)))
    for (name, body), row in zip(malformed.items(), rows, strict=True):
        stage, code, *fragments = EXPECTED[name]
        assert (row[1], row[2]) == (stage, code), name
        assert all(fragment in row[3] for fragment in fragments), (name, row[3])
        assert bytes(row[4]) == body, name
        assert row[5:8] == ("2", str(4096 * row[0]), True)
        assert row[9:] == ("20261123T000000000Z-s7", 1, "pending")
    readable = {name: row[8] for name, row in zip(malformed, rows, strict=True)}
    assert readable["unknown_currency"] == orjson.loads(valid[0])["transaction_id"]
    assert readable["not_json"] is None
    assert totals()["run_totals"] == [("20261123T000000000Z-s7", 2, 0, len(malformed))]


def test_a_redelivered_failure_is_stored_once(processor, make_batch, query) -> None:
    events = make_batch([b"not json", b"{}"], first_sequence_number=5, run_id="other-run")
    processor.process(events, "0", "$Default")
    processor.process(events, "0", "replay")  # past another checkpoint: the source key still dedupes
    assert query("SELECT source_sequence_number, error_code, run_id FROM failed_items ORDER BY 1") == [
        (5, "not_json", "other-run"),
        (6, "schema_violation", "other-run"),
    ]
    assert query("SELECT run_id, processed, failed FROM run_totals") == [("other-run", 0, 2)]


def test_events_without_application_properties_are_processed_like_real_traffic(
    processor, generated_bodies, query
) -> None:
    from paysim_pipeline.processor import IncomingEvent

    bodies = generated_bodies(20)
    events = [IncomingEvent(body, sequence_number) for sequence_number, body in enumerate([*bodies, b"[]"])]
    outcome = processor.process(events, "0", "$Default")
    assert outcome.processed + outcome.duplicates_dropped == 20
    assert query("SELECT run_id, source_offset, source_enqueued_time FROM failed_items") == [
        (None, None, None)
    ]

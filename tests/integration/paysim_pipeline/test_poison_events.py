"""No event can fail its batch: values that pass decoding (or validation) but would fail later become
one failed item each, with their exact bytes, and the rest of their batch commits. On the real stack."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from azure.storage.blob import BlobServiceClient

from paysim_cli.local.processes import free_port
from paysim_cli.local.state import azurite_connection_string
from paysim_pipeline.processor import BatchProcessor
from paysim_pipeline.sinks.blob import RawEventsUnavailable

RUN_ID = "20261123T000000000Z-s7"


def _yesterday_leap_second() -> str:
    """A leap second within the accepted time window: the schema's date-time format admits 23:59:60."""
    return f"{(datetime.now(UTC) - timedelta(days=1)):%Y-%m-%d}T23:59:60.000Z"


def _poison(valid: bytes, edit_body) -> dict[str, tuple[bytes, tuple[str, ...]]]:
    """Bodies that pass decoding but failed later before, with (stage, code, message fragments...)."""
    document = orjson.loads(valid)
    merchant = document["merchant"]
    return {
        "nul_in_run_id": (
            edit_body(valid, run_id="run\u0000x"),
            ("validate", "unstorable_text", "run_id: contains U+0000"),
        ),
        "nul_in_merchant_id": (
            edit_body(valid, merchant={**merchant, "id": "m\u0000"}),
            ("validate", "unstorable_text", "merchant.id: contains U+0000"),
        ),
        "nul_in_a_field_name": (
            orjson.dumps({**document, "pad\u0000ding": 1}),
            ("validate", "unstorable_text", "the field name 'pad\\u0000ding': contains U+0000"),
        ),
        "nul_hidden_by_a_missing_field": (
            edit_body(valid, customer=..., run_id="r\u0000"),
            ("validate", "unstorable_text", "run_id: contains U+0000", "customer"),
        ),
        "leap_second": (
            edit_body(valid, event_time=_yesterday_leap_second()),
            ("normalize", "invalid_event_time", "a leap second", "Seconds out of range"),
        ),
        "huge_int": (
            _amount(valid, b"18446744073709551616"),  # orjson reads it as a float: over the maximum
            ("validate", "schema_violation", "amount_minor"),
        ),
        "infinite_number": (
            _amount(valid, b"1e400"),
            ("decode", "not_json", "infinity"),
        ),
        "lone_surrogate": (
            valid.replace(b'"run_id":"', b'"run_id":"\\ud800'),
            ("decode", "not_json", "surrogate"),
        ),
        "huge_error_message": (
            edit_body(valid, merchant={**merchant, "id": "x" * 300_000}),
            ("validate", "schema_violation", "merchant.id", "more characters)"),
        ),
    }


def _amount(body: bytes, amount: bytes) -> bytes:
    return re.sub(rb'"amount_minor":[0-9]+', b'"amount_minor":' + amount, body)


def _failed_items(query) -> dict[int, tuple[Any, ...]]:
    rows = query(
        "SELECT source_sequence_number, stage, error_code, error_message, raw_payload, run_id"
        " FROM failed_items ORDER BY source_sequence_number"
    )
    return {row[0]: (row[1], row[2], row[3], bytes(row[4]), row[5]) for row in rows}


def test_each_poison_kind_is_one_failed_item_with_its_bytes_and_the_batch_commits(
    processor, make_batch, generated_bodies, edit_body, query, totals
) -> None:
    valid = generated_bodies(12)
    poison = _poison(valid[0], edit_body)
    bodies = [*valid[1:6], *(body for body, _ in poison.values()), *valid[6:]]
    outcome = processor.process(make_batch(bodies, first_sequence_number=40), "1", "$Default")

    assert (outcome.processed + outcome.duplicates_dropped, outcome.failed) == (11, len(poison))
    assert outcome.isolated == 0  # validation caught every one: nothing reached the database
    failed = _failed_items(query)
    assert sorted(failed) == list(range(45, 45 + len(poison)))
    for (name, (body, (stage, code, *fragments))), number in zip(poison.items(), sorted(failed), strict=True):
        got_stage, got_code, message, raw_payload, run_id = failed[number]
        assert (got_stage, got_code) == (stage, code), (name, message)
        assert all(fragment in message for fragment in fragments), (name, message)
        assert "\x00" not in message
        assert len(message) < 2100, name
        assert raw_payload == body, name
        assert run_id == RUN_ID
    assert totals()["run_totals"] == [(RUN_ID, outcome.processed, outcome.duplicates_dropped, len(poison))]
    assert totals()["checkpoints"] == [("$Default", "1", 40 + len(bodies) - 1)]


def test_the_most_specific_schema_errors_come_first(
    processor, make_batch, generated_bodies, edit_body, query
):
    # Missing fields used to fill the three errors shown and hide a negative amount.
    body = edit_body(generated_bodies(1)[0], merchant=..., customer=..., channel=..., amount_minor=-5)
    processor.process(make_batch([body]), "0", "$Default")
    ((code, message),) = query("SELECT error_code, error_message FROM failed_items")
    assert code == "non_positive_amount"
    assert message.startswith("amount_minor: -5 is less than the minimum of 1; ")
    assert message.endswith("and 1 more")


def test_metadata_that_json_cannot_hold_is_archived_and_stored(
    processor, make_batch, generated_bodies, blob_connection_string, container, query
) -> None:
    """Properties come from the host as JSON: .NET strings may hold lone surrogates, numbers may exceed
    64 bits, names may hold NUL; a run_id property may be anything. None of it may fail the batch."""
    valid = generated_bodies(3)
    events = make_batch([valid[0], b"not json", b"{}", valid[1]])
    hostile = [
        {"run_id": "run\u0000id", "na\u0000me": "va\u0000lue"},
        {"run_id": "x" * 10_000, "big": 2**70, "text": "lone \ud800 surrogate"},
    ]
    events[1:3] = [
        replace(event, properties=props) for event, props in zip(events[1:3], hostile, strict=True)
    ]
    events[3] = replace(events[3], body=valid[1].replace(b",", b",\r\n", 3))  # JSON whitespace: CR LF
    outcome = processor.process(events, "4", "$Default")
    assert (outcome.processed + outcome.duplicates_dropped, outcome.failed) == (2, 2)
    assert query("SELECT source_sequence_number, run_id FROM failed_items ORDER BY 1") == [
        (1, None),
        (2, None),
    ]

    service = BlobServiceClient.from_connection_string(blob_connection_string)
    archived = service.get_container_client(container).download_blob(outcome.blob_name).readall()
    lines = [orjson.loads(line) for line in gzip.decompress(archived).splitlines()]
    assert [line["sequence_number"] for line in lines] == [0, 1, 2, 3]
    assert lines[1]["properties"] == hostile[0]
    assert lines[2]["properties"] == {
        "run_id": "x" * 10_000,
        "big": str(2**70),
        "text": "lone \ufffd surrogate",
    }
    assert lines[3]["body"] == orjson.loads(valid[1])  # one line, though the body had line breaks


def _saturated_cell(query, body: bytes) -> bytes:
    """`body` moved to a payment_metrics_5m cell of its own (MCC 0001), whose stored amount sum is the
    largest bigint: adding the event's amount overflows it."""
    document = orjson.loads(body)
    document["merchant"] = {**document["merchant"], "mcc": "0001"}
    window = datetime.fromtimestamp(
        datetime.fromisoformat(document["event_time"]).timestamp() // 300 * 300, UTC
    )
    query(
        "INSERT INTO payment_metrics_5m (window_start, payment_type, currency, merchant_category, channel,"
        " status, event_count, amount_sum, amount_min, amount_max, fraud_count, first_event_time,"
        " last_event_time) VALUES (%s, %s, %s, '0001', %s, %s, 1, 9223372036854775807, 1, 1, 0, %s, %s)",
        (
            window,
            *(document[name] for name in ("payment_type", "currency", "channel", "status")),
            window,
            window,
        ),
    )
    return orjson.dumps(document)


def test_an_event_the_database_refuses_is_isolated_by_splitting_its_batch(
    processor, make_batch, generated_bodies, query, totals
) -> None:
    """A value no validation can judge: the amount that overflows its cell's stored bigint sum."""
    bodies = generated_bodies(20)
    bodies[13] = _saturated_cell(query, bodies[13])
    outcome = processor.process(make_batch(bodies, first_sequence_number=100), "3", "$Default")

    assert (outcome.processed + outcome.duplicates_dropped, outcome.failed, outcome.isolated) == (19, 1, 1)
    assert len(outcome.blob_names) > 2  # committed in parts
    ((number, stage, code, message, payload, run_id),) = query(
        "SELECT source_sequence_number, stage, error_code, error_message, raw_payload, run_id"
        " FROM failed_items"
    )
    assert (number, stage, code, bytes(payload), run_id) == (
        113,
        "sink",
        "unstorable_value",
        bodies[13],
        RUN_ID,
    )
    assert "fails when processed alone: NumericValueOutOfRange" in message
    after = totals()
    assert after["run_totals"] == [(RUN_ID, outcome.processed, outcome.duplicates_dropped, 1)]
    assert after["checkpoints"] == [("$Default", "3", 119)]
    assert after["dedupe"] == (outcome.processed,)  # the isolated event claimed no dedupe row

    again = processor.process(make_batch(bodies, first_sequence_number=100), "3", "$Default")
    assert (again.skipped_below_checkpoint, totals()) == (20, after)  # a redelivery changes nothing


def test_an_unavailable_dependency_is_never_blamed_on_an_event(
    config, make_batch, generated_bodies, query, totals
) -> None:
    """A poisoned batch while Blob storage is down raises: its events wait, none becomes a failed item."""
    bodies = generated_bodies(8)
    bodies[3] = _saturated_cell(query, bodies[3])
    offline = BatchProcessor(replace(config, blob_connection_string=azurite_connection_string(free_port())))
    try:
        with pytest.raises(RawEventsUnavailable):
            offline.process(make_batch(bodies), "0", "$Default")
    finally:
        offline.close()
    assert (totals()["failed"], totals()["checkpoints"], totals()["dedupe"]) == ([], [], (0,))
    assert query("SELECT count(*) FROM payment_metrics_5m") == [(1,)]  # only the saturated cell


def test_every_value_the_schema_accepts_is_stored_without_reaching_the_defences(
    processor, make_batch, generated_bodies, query
) -> None:
    """A property over the schema: each leaf of a valid event replaced by hostile values, one event each.
    Whatever validation accepts must store as it is; what it refuses is a failed item with its bytes."""
    base = orjson.loads(generated_bodies(1)[0])
    # json, not orjson: it writes integers beyond 64 bits, as a producer may.
    bodies = [
        json.dumps({**event, "transaction_id": str(uuid.uuid4())}, ensure_ascii=False).encode()
        for event in _mutations(base)
    ]
    outcome = processor.process(make_batch(bodies), "5", "$Default")
    assert outcome.processed + outcome.failed == len(bodies)
    assert outcome.isolated == 0
    stored = dict(query("SELECT source_sequence_number, raw_payload FROM failed_items"))
    assert all(bytes(payload) == bodies[number] for number, payload in stored.items())
    assert query("SELECT count(*) FROM failed_items WHERE stage IN ('sink', 'process')") == [(0,)]


HOSTILE_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\u2028",
    "\ufeff",
    "\U0001f600",
    "\\",
    '"',
    "x" * 65,
    "\U0001d54f" * 64,
]
HOSTILE_NUMBERS = [0, -1, 1, 10**13, 10**13 + 1, 2**63, 2**64, -(2**63), 1.5, 1e13, 12.0]
HOSTILE_OTHERS = [None, True, [], {}]


def _mutations(event: dict[str, Any]) -> list[dict[str, Any]]:
    """`event` with each leaf replaced by each hostile value, and with hostile event times."""
    mutated = []
    for path in _leaves(event):
        for value in [*HOSTILE_STRINGS, *HOSTILE_NUMBERS, *HOSTILE_OTHERS]:
            mutated.append(_replaced(event, path, value))
    now = datetime.now(UTC)
    for moment in [
        _yesterday_leap_second(),
        f"{now:%Y-%m-%d}T23:59:61.000Z",
        "0000-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
        f"{now:%Y}-02-29T00:00:00.000Z",
        f"{now - timedelta(seconds=1):%Y-%m-%dT%H:%M:%S}.000Z",
    ]:
        mutated.append({**event, "event_time": moment})
    return mutated


def _leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    return [path]


def _replaced(event: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = orjson.loads(orjson.dumps(event))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def test_a_constraint_the_database_enforces_isolates_its_event(
    processor, make_batch, generated_bodies, query, totals
) -> None:
    """A rule only the database knows (a constraint a later migration might add) fails one event alone."""
    query(
        "ALTER TABLE payment_metrics_5m ADD CONSTRAINT test_no_mcc_0002 CHECK (merchant_category <> '0002')"
    )
    bodies = generated_bodies(6)
    document = orjson.loads(bodies[2])
    bodies[2] = orjson.dumps({**document, "merchant": {**document["merchant"], "mcc": "0002"}})
    outcome = processor.process(make_batch(bodies), "2", "$Default")
    assert (outcome.failed, outcome.isolated, outcome.processed + outcome.duplicates_dropped) == (1, 1, 5)
    ((stage, code, message),) = query("SELECT stage, error_code, error_message FROM failed_items")
    assert (stage, code) == ("sink", "constraint_violation")
    assert "CheckViolation" in message
    assert "test_no_mcc_0002" in message

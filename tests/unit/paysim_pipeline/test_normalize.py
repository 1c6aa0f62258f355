"""Decoded events to columns: every field rules can use, JSON nulls kept as None."""

from __future__ import annotations

import numpy as np

from paysim_pipeline.normalize import EXTRA_CATEGORIES, to_columns


def _event(**fields: object) -> dict[str, object]:
    return {
        "transaction_id": "00000000-0000-4000-8000-000000000001",
        "event_time": "2026-11-23T10:15:30.250Z",
        "payment_type": "card",
        "amount_minor": 1250.0,
        "currency": "JPY",
        "merchant": {"id": "m000001", "mcc": "5411", "country": "JP"},
        "customer": {"id": "c0000001", "country": "US"},
        "channel": "ecommerce",
        "device": {"id": "d0000001", "country": "GB"},
        "status": "declined",
        "decline_reason": "do_not_honor",
        "card": {"brand": "visa", "bin": "411111", "last4": "1111"},
        "is_fraud": False,
        "fraud_scenario": None,
        "run_id": "r1",
        **fields,
    }


def test_columns_hold_every_field_and_nulls_as_none() -> None:
    documents = [
        _event(),
        _event(device=None, card=None, payment_type="ach", channel="pos", decline_reason=None),
    ]
    columns, rejections = to_columns(documents, [4, 9], extra=EXTRA_CATEGORIES)
    assert rejections == []
    assert columns.positions.tolist() == [4, 9]
    assert columns.event_ms.tolist() == [1795428930250] * 2  # 2026-11-23T10:15:30.250Z
    assert columns.event_days.tolist() == [20780] * 2
    assert columns.amount_minor.dtype == np.int64
    assert columns.amount_minor.tolist() == [1250, 1250]
    assert columns.amount_major().tolist() == [1250.0, 1250.0]  # JPY has no minor unit
    factors = columns.factors
    assert factors["card"].labels() == ["4111111111", None]
    assert factors["device_country"].labels() == ["GB", None]
    assert factors["card_brand"].labels() == ["visa", None]
    assert (factors["merchant_country"].labels(), factors["customer_id"].labels()) == (
        ["JP", "JP"],
        ["c0000001"] * 2,
    )
    assert columns.take(np.array([1])).factors["payment_type"].labels() == ["ach"]


def test_an_event_time_numpy_cannot_convert_is_left_out_with_a_rejection() -> None:
    # RFC 3339 (and the schema's date-time format) allow a leap second at 23:59:60.
    leap = _event(
        event_time="2016-12-31T23:59:60.000Z", transaction_id="00000000-0000-4000-8000-00000000000a"
    )
    columns, rejections = to_columns([_event(), leap, _event(run_id="r2")], [0, 1, 2])
    assert columns.positions.tolist() == [0, 2]
    assert columns.factors["run_id"].labels() == ["r1", "r2"]
    (rejection,) = rejections
    assert (rejection.position, rejection.stage, rejection.error_code, rejection.transaction_id) == (
        1,
        "normalize",
        "invalid_event_time",
        "00000000-0000-4000-8000-00000000000a",
    )
    assert "2016-12-31T23:59:60.000Z cannot be converted (a leap second" in rejection.message
    assert "Seconds out of range" in rejection.message

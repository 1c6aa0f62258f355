"""The shipped rules on the real database: additive values, and thresholds crossed exactly once per
group and window, however the events are spread over batches."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import orjson


def _small_card_approval(base: bytes, card_last4: str, event_time: str) -> bytes:
    document = orjson.loads(base)
    document.update(
        transaction_id=str(uuid.uuid4()),
        event_time=event_time,
        payment_type="card",
        channel="ecommerce",
        amount_minor=150,
        currency="USD",
        status="approved",
        decline_reason=None,
        card={"brand": "visa", "bin": "411111", "last4": card_last4},
        is_fraud=False,
        fraud_scenario=None,
    )
    return orjson.dumps(document)


def test_card_testing_suspects_count_each_card_once_when_it_reaches_the_threshold(
    processor, make_batch, generated_bodies, query
) -> None:
    window_start = (int(time.time()) - 3600) // 600 * 600
    event_time = datetime.fromtimestamp(window_start + 5, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    base = generated_bodies(1)[0]

    def probes(card: str, count: int) -> list[bytes]:
        return [_small_card_approval(base, card, event_time) for _ in range(count)]

    def suspects() -> list[tuple[object, ...]]:
        return query(
            "SELECT extract(epoch FROM window_start)::bigint, window_seconds, dimensions, value, sample_count"
            " FROM dynamic_metrics WHERE metric_name = 'card_testing_suspects'"
        )

    processor.process(make_batch(probes("1111", 2)), "0", "$Default")
    assert suspects() == []
    processor.process(make_batch(probes("1111", 2), first_sequence_number=2), "0", "$Default")
    assert suspects() == [(window_start, 600, {}, 1, 1)]
    processor.process(
        make_batch([*probes("1111", 1), *probes("2222", 3)], first_sequence_number=4), "0", "$Default"
    )
    assert suspects() == [(window_start, 600, {}, 2, 2)]
    assert query(
        "SELECT dimensions ->> 'card', value FROM dynamic_metrics WHERE metric_name = 'card_small_approvals'"
        " ORDER BY 1"
    ) == [("4111111111", 5), ("4111112222", 3)]


def test_rates_are_additive_value_and_sample_count(processor, make_batch, generated_bodies, query) -> None:
    bodies = generated_bodies(400)
    processor.process(make_batch(bodies[:200]), "0", "$Default")
    processor.process(make_batch(bodies[200:], first_sequence_number=200), "0", "$Default")
    processed, declined, fraud = query(
        "SELECT sum(event_count), sum(event_count) FILTER (WHERE status = 'declined'), sum(fraud_count)"
        " FROM payment_metrics_5m"
    )[0]
    rates = dict(
        query(
            "SELECT metric_name, array[sum(value), sum(sample_count)] FROM dynamic_metrics"
            " WHERE metric_name IN ('decline_rate_by_merchant_category', 'fraud_rate_by_channel') GROUP BY 1"
        )
    )
    assert rates == {
        "decline_rate_by_merchant_category": [declined, processed],
        "fraud_rate_by_channel": [fraud, processed],
    }

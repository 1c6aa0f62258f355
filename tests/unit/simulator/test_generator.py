"""Generated events: valid against the contract, deterministic, and distributed as the profile says."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import numpy as np
import orjson
import pytest
from jsonschema import Draft202012Validator

from paysim_cli.simulator.contract import allowed_values, currency_exponents, event_schema
from paysim_cli.simulator.generator import (
    ACCOUNT_TAKEOVER_CHANNELS,
    ACCOUNT_TAKEOVER_DECLINE_REASONS,
    BLOCK_EVENTS,
    CARD_BRAND_SHARE,
    CARD_TESTING_DECLINE_REASONS,
    EventBlock,
    EventGenerator,
    EventKind,
)
from paysim_cli.simulator.profile_store import load_profile

ProfileFile = Callable[..., Path]
START_MS = 1_764_288_000_000
# The same validator library as the pipeline's (fast enough for every event of a block).
VALIDATOR = jsonschema_rs.Draft202012Validator(event_schema())


def _generator(path: Path, seed: int = 7, **options: Any) -> EventGenerator:
    return EventGenerator(
        load_profile(path), seed=seed, worker=0, run_id="r-test", start_ms=START_MS, **options
    )


def _blocks(generator: EventGenerator, count: int, rate: float = 1000.0) -> list[EventBlock]:
    blocks = []
    for number in range(count):
        indices = np.arange(number * BLOCK_EVENTS, (number + 1) * BLOCK_EVENTS, dtype=np.float64)
        blocks.append(generator.block(number, indices / rate))
    return blocks


def _documents(blocks: list[EventBlock]) -> list[dict[str, Any]]:
    return [orjson.loads(body) for block in blocks for body in block.bodies]


def test_contract_covers_the_generators_vocabulary() -> None:
    Draft202012Validator.check_schema(event_schema())
    card = next(option for option in event_schema()["properties"]["card"]["oneOf"] if "properties" in option)
    assert set(CARD_BRAND_SHARE) == set(card["properties"]["brand"]["enum"])
    assert set(CARD_TESTING_DECLINE_REASONS + ACCOUNT_TAKEOVER_DECLINE_REASONS) <= set(
        allowed_values("decline_reason")
    )
    assert set(ACCOUNT_TAKEOVER_CHANNELS) <= set(allowed_values("channel"))
    assert set(allowed_values("payment_type")) >= {"card", "ach", "wire", "wallet", "rtp"}
    assert all(len(code) == 3 and exponent in (0, 2, 3) for code, exponent in currency_exponents().items())


def test_same_seed_same_bytes_other_seed_other_bytes(profile_file: ProfileFile) -> None:
    path = profile_file()
    first = _blocks(_generator(path), 2)
    again = _generator(path)
    # a block depends on its number only, not on the blocks generated before it
    assert again.block(1, first[1].intended).bodies == first[1].bodies
    assert again.block(0, first[0].intended).bodies == first[0].bodies
    assert _blocks(_generator(path, seed=8), 1)[0].bodies != first[0].bodies


def test_events_match_the_schema_and_the_columns(profile_file: ProfileFile) -> None:
    block = _blocks(_generator(profile_file()), 1)[0]
    documents = _documents([block])
    for document in documents:
        VALIDATOR.validate(document)
    first = documents[0]
    assert first["event_time"] == "2025-11-28T00:00:00.000Z"
    assert first["run_id"] == "r-test"
    assert block.partition_keys[0] == first["customer"]["id"]
    assert [d["amount_minor"] for d in documents] == block.amount_minor.tolist()
    assert {d["merchant"]["mcc"] for d in documents} <= {"5411", "5812", "4121"}
    assert all((d["card"] is not None) == (d["payment_type"] == "card") for d in documents)
    assert all((d["device"] is None) == (d["channel"] == "pos") for d in documents)


@pytest.mark.parametrize(
    ("field", "key"),
    [("merchant.id", lambda d: d["merchant"]["id"]), ("transaction_id", lambda d: d["transaction_id"])],
)
def test_partition_key_fields(
    profile_file: ProfileFile, field: str, key: Callable[[dict[str, Any]], str]
) -> None:
    block = _blocks(_generator(profile_file(), partition_key_field=field), 1)[0]
    assert block.partition_keys == [key(d) for d in _documents([block])]


def test_no_partition_key(profile_file: ProfileFile) -> None:
    block = _blocks(_generator(profile_file(), partition_key_field="none"), 1)[0]
    assert set(block.partition_keys) == {None}


def _share(values: list[str]) -> dict[str, float]:
    counts = Counter(values)
    return {name: count / len(values) for name, count in counts.items()}


def test_mixes_follow_the_profile(profile_file: ProfileFile) -> None:
    documents = _documents(_blocks(_generator(profile_file()), 40))  # 81,920 events
    types = _share([d["payment_type"] for d in documents])
    assert types == pytest.approx({"card": 0.6, "ach": 0.25, "wallet": 0.15}, abs=0.01)
    assert _share([d["currency"] for d in documents]) == pytest.approx(
        {"USD": 0.7, "EUR": 0.2, "JPY": 0.1}, abs=0.01
    )
    cards = [d for d in documents if d["payment_type"] == "card"]
    assert _share([d["channel"] for d in cards]) == pytest.approx({"pos": 0.5, "ecommerce": 0.5}, abs=0.015)
    assert _share([d["status"] for d in cards])["declined"] == pytest.approx(0.1, abs=0.01)
    declined = [d["decline_reason"] for d in documents if d["status"] == "declined"]
    assert _share(declined) == pytest.approx({"insufficient_funds": 0.7, "do_not_honor": 0.3}, abs=0.03)
    usd_ach = [
        d["amount_minor"] / 100 for d in documents if d["payment_type"] == "ach" and d["currency"] == "USD"
    ]
    assert float(np.median(usd_ach)) == pytest.approx(math.exp(6.0), rel=0.05)
    assert float(np.std(np.log(usd_ach))) == pytest.approx(1.0, abs=0.03)
    jpy = [d["amount_minor"] for d in documents if d["payment_type"] == "ach" and d["currency"] == "JPY"]
    assert float(np.median(jpy)) == pytest.approx(math.exp(6.0), rel=0.1)  # exponent 0: whole yen
    merchants = Counter(d["merchant"]["id"] for d in documents)
    top = merchants.most_common(1)[0][1] / len(documents)
    harmonic = sum(rank**-1.1 for rank in range(1, 501))
    assert top == pytest.approx(1 / harmonic, rel=0.1)  # Zipf: rank 1 gets 1/H(500, 1.1)
    customer_countries = {d["customer"]["id"]: d["customer"]["country"] for d in documents}
    assert _share(list(customer_countries.values())) == pytest.approx({"US": 0.6, "NO": 0.4}, abs=0.03)
    cards_of = {}
    for d in cards:  # a customer always pays with the same card
        assert cards_of.setdefault(d["customer"]["id"], d["card"]) == d["card"]


def test_fault_injection_rates(profile_file: ProfileFile) -> None:
    path = profile_file(
        "faults:\n"
        "  malformed_rate: 0.03\n"
        "  duplicate_rate: 0.02\n"
        "  out_of_order_rate: 0.05\n"
        "  out_of_order_max_delay: 60\n"
    )
    blocks = _blocks(_generator(path), 30)
    kinds = np.concatenate([block.kind for block in blocks])
    total = kinds.size
    assert np.count_nonzero(kinds == EventKind.MALFORMED) / total == pytest.approx(0.03, abs=0.004)
    assert np.count_nonzero(kinds == EventKind.DUPLICATE) / total == pytest.approx(0.02 * 0.97, abs=0.004)
    for block in blocks:
        for position in np.flatnonzero(block.kind == EventKind.MALFORMED):
            body = block.bodies[position]
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                continue
            assert not VALIDATOR.is_valid(document)
        for position in np.flatnonzero(block.kind == EventKind.DUPLICATE):
            original = block.source[position]
            assert original < position
            assert block.kind[original] == EventKind.VALID
            assert block.bodies[position] == block.bodies[original]
        late = block.event_ms < (START_MS + np.rint(block.intended * 1000)) - 999
        valid = block.kind == EventKind.VALID
        assert np.count_nonzero(late & valid) / np.count_nonzero(valid) == pytest.approx(0.05, abs=0.015)
        delays = (START_MS + np.rint(block.intended * 1000)) - block.event_ms
        assert delays.max() <= 60_000
    malformed_kinds = Counter(np.concatenate([block.malformed_kind for block in blocks]).tolist())
    assert set(malformed_kinds) == {-1, 0, 1, 2, 3, 4}


def test_fraud_scenarios(profile_file: ProfileFile) -> None:
    path = profile_file(
        "fraud:\n"
        "  card_testing: {share: 0.02, burst_size: [10, 20], amount_minor: [50, 100], decline_rate: 0.9}\n"
        "  account_takeover: {share: 0.01, burst_size: [3, 5], amount: {mu: 8, sigma: 0.2}}\n"
    )
    documents = _documents(_blocks(_generator(path), 20))
    testing = [d for d in documents if d["fraud_scenario"] == "card_testing"]
    takeover = [d for d in documents if d["fraud_scenario"] == "account_takeover"]
    assert len(testing) / len(documents) == pytest.approx(0.02, rel=0.35)
    assert len(takeover) / len(documents) == pytest.approx(0.01, rel=0.35)
    assert all(d["is_fraud"] for d in testing + takeover)
    assert all(d["payment_type"] == "card" and d["channel"] == "ecommerce" for d in testing)
    assert all(50 <= d["amount_minor"] <= 100 for d in testing)
    assert _share([d["status"] for d in testing])["declined"] == pytest.approx(0.9, abs=0.06)
    assert all(d["device"]["country"] != d["customer"]["country"] for d in takeover)
    assert all(d["device"]["id"].startswith("n") for d in testing + takeover)
    assert float(np.median([d["amount_minor"] for d in takeover if d["currency"] == "USD"])) > 100 * 2000
    # one burst, one card: consecutive card-testing events share the card
    runs = Counter((d["card"]["bin"], d["card"]["last4"]) for d in testing)
    assert max(runs.values()) >= 10

"""The rules file: the shipped one loads; mistakes are refused at load naming file, line and field;
rules evaluate on whole columns."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from paysim_pipeline.config import DEFAULT_RULES_FILE
from paysim_pipeline.normalize import EventColumns, Factor
from paysim_pipeline.rules import RulesError, load_rules


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_rules_load() -> None:
    rules = load_rules(DEFAULT_RULES_FILE, 300)
    assert [rule.name for rule in rules.rules] == [
        "decline_rate_by_merchant_category",
        "high_value_count",
        "fraud_rate_by_channel",
        "card_small_approvals",
    ]
    assert rules.extra_fields == {"card"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("version: 1\nmetrics: [\n", "rules.yaml:3: not valid YAML"),
        ("- a list\n", "rules.yaml:1: a rules file is a mapping"),
        ("version: 2\nmetrics: []\n", "rules.yaml:1: version: Input should be 1"),
        ("version: 1\nmetrics:\n  - description: x\n", "rules.yaml:3: metrics[0].name: Field required"),
        (
            "version: 1\nmetrics:\n  - name: a\n    where:\n      payment_type: cheque\n",
            "rules.yaml:4: metrics[0].where: payment_type cannot be 'cheque': one of ach, card, rtp, wallet,",
        ),
        (
            "version: 1\nmetrics:\n  - name: a\n    where: {colour: red}\n",
            "rules.yaml:4: metrics[0].where: unknown field 'colour'",
        ),
        (
            "version: 1\nmetrics:\n  - name: a\n    where: {amount_minor: 5}\n",
            "metrics[0].where: amount_minor takes bounds, e.g. {gte: 100}",
        ),
        (
            "version: 1\nmetrics:\n  - name: a\n    where: {is_fraud: yes please}\n",
            "is_fraud is true or false",
        ),
        (
            "version: 1\nmetrics:\n  - name: a\n    where: {channel: [pos, true]}\n",
            "channel takes a value or a list",
        ),
        (
            "version: 1\nmetrics:\n  - name: a\n    where: {amount_major: {}}\n",
            "amount_major: give at least one of gt",
        ),
        ("version: 1\nmetrics:\n  - name: a\n    where: [status]\n", "where: conditions are a mapping"),
        ("version: 1\nmetrics:\n  - name: a\n    value: mean\n", "value: value is count, {ratio_of"),
        ("version: 1\nmetrics:\n  - name: a\n    group_by: [colour]\n", "cannot group by 'colour'"),
        ("version: 1\nmetrics:\n  - name: a\n    group_by: [card, card]\n", "group_by names a field twice"),
        (
            "version: 1\nmetrics:\n  - name: a\n    value: {sum_of: amount_minor}\n"
            "    threshold: {metric: b, at_least: 2}\n",
            "a threshold needs value: count",
        ),
        (
            "version: 1\nmetrics:\n  - name: a\n  - name: b\n    threshold: {metric: a, at_least: 2}\n",
            "metric name 'a' is used twice",
        ),
        (
            "version: 1\nmetrics:\n  - name: a\n    window_seconds: 0\n",
            "rules.yaml:4: metrics[0].window_seconds: Input should be greater than 0",
        ),
        (
            "version: 1\nmetrics:\n  - name: Bad-Name\n",
            "rules.yaml:3: metrics[0].name: String should match pattern",
        ),
        (
            "version: 1\nmetrics:\n  - name: a\n    value: {ratio_of: {status: lost}}\n",
            "rules.yaml:4: metrics[0].value: ratio_of: status cannot be 'lost'",
        ),
    ],
)
def test_mistakes_are_refused_naming_file_line_and_field(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(RulesError, match=re.escape(error)):
        load_rules(_write(tmp_path, text), 300)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"missing\.yaml: cannot be read"):
        load_rules(tmp_path / "missing.yaml", 300)


def test_yaml_numbers_for_categories_and_null_for_nullable_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\nmetrics:\n"
        "  - name: grocery_sums\n"
        "    where: {merchant_category: 5411, decline_reason: null, card_brand: [visa]}\n"
        "    value: {sum_of: amount_minor}\n    window_seconds: 60\n",
    )
    rules = load_rules(path, 300)
    events = EventColumns(
        positions=np.arange(3),
        transaction_ids=["a", "b", "c"],
        event_ms=np.array([0, 59_999, 60_000], dtype=np.int64),
        amount_minor=np.array([100, 250, 7], dtype=np.int64),
        is_fraud=np.zeros(3, dtype=np.bool_),
        factors={
            "merchant_category": Factor.of(["5411", "5411", "5411"]),
            "decline_reason": Factor.of([None, None, "do_not_honor"]),
            "card_brand": Factor.of(["visa", "visa", "visa"]),
        },
    )
    rows = rules.evaluate(events)
    assert (rows.metric_name, rows.window_start_s, rows.window_seconds) == (["grocery_sums"], [0], [60])
    assert (rows.dimensions, rows.value, rows.sample_count) == (["{}"], [350], [2])
    assert rules.extra_fields == {"decline_reason", "card_brand"}

"""`paysim metrics show` on a real database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import psycopg
from psycopg.types.json import Jsonb
from typer.testing import Result

from paysim_cli.settings import Settings

CliInvoker = Callable[..., Result]
EARLY = datetime(2025, 11, 28, 0, 0, tzinfo=UTC)
LATE = datetime(2025, 11, 28, 0, 5, tzinfo=UTC)


def _insert(database_url: str) -> None:
    rows = [
        (EARLY, "card", "USD", "5411", "pos", "approved", 50, 250_000, 100, 9_000, 1),
        (LATE, "card", "USD", "5411", "pos", "approved", 3, 6015, 1000, 3000, 0),
        (LATE, "wire", "JPY", "6012", "online_banking", "approved", 7, 7_000_000, 10_000, 5_000_000, 0),
        (LATE, "card", "EUR", "5812", "ecommerce", "declined", 1, 250, 250, 250, 1),
    ]
    dynamic = [
        ("decline_rate_by_merchant_category", EARLY, 300, {"merchant_category": "5411"}, 40, 50),
        ("decline_rate_by_merchant_category", LATE, 300, {"merchant_category": "5411"}, 1, 3),
        ("decline_rate_by_merchant_category", LATE, 300, {"merchant_category": "5812"}, 1, 1),
        ("high_value_count", LATE, 300, {"currency": "JPY", "payment_type": "wire"}, 2, 2),
    ]
    with psycopg.connect(database_url) as conn:
        for window, *dimensions, count, amount, low, high, fraud in rows:
            conn.execute(
                "INSERT INTO payment_metrics_5m (window_start, payment_type, currency, merchant_category, "
                "channel, status, event_count, amount_sum, amount_min, amount_max, fraud_count, "
                "first_event_time, last_event_time) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (window, *dimensions, count, amount, low, high, fraud, window, window),
            )
        for name, window, seconds, dimensions, value, samples in dynamic:
            conn.execute(
                "INSERT INTO dynamic_metrics (metric_name, window_start, window_seconds, dimensions, value, "
                "sample_count) VALUES (%s, %s, %s, %s, %s, %s)",
                (name, window, seconds, Jsonb(dimensions), value, samples),
            )


def test_the_latest_windows_largest_first_and_the_top_dynamic_metrics(
    cli: CliInvoker, metrics_settings: Settings, migrated_database_url: str
) -> None:
    _insert(migrated_database_url)
    result = cli(
        "metrics", "show", "--limit", "3", "--top", "1", "--database-url", migrated_database_url, "--json"
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)["data"]
    assert [(row["window_start"], row["payment_type"], row["event_count"]) for row in report["windows"]] == [
        ("2025-11-28T00:05:00Z", "wire", 7),
        ("2025-11-28T00:05:00Z", "card", 3),
        ("2025-11-28T00:05:00Z", "card", 1),
    ]
    assert [
        (metric["metric_name"], metric["dimensions"], metric["mean"]) for metric in report["dynamic"]
    ] == [
        ("decline_rate_by_merchant_category", {"merchant_category": "5411"}, 0.333333),
        ("high_value_count", {"currency": "JPY", "payment_type": "wire"}, 1.0),
    ]

    human = cli("metrics", "show", "--database-url", migrated_database_url)
    assert human.exit_code == 0, human.output
    assert "60.15 USD" in human.stdout  # minor units shown in the currency's major unit
    assert "7,000,000 JPY" in human.stdout
    assert "dynamic metrics" in human.stdout
    assert "merchant_category=5812" in human.stdout


def test_an_empty_pipeline(cli: CliInvoker, metrics_settings: Settings, migrated_database_url: str) -> None:
    result = cli("metrics", "show", "--database-url", migrated_database_url)
    assert result.exit_code == 0, result.output
    assert "no metrics yet" in result.stdout

"""`paysim metrics show` as a service: the latest payment_metrics_5m windows and the top dynamic metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from paysim_cli.db import connect
from paysim_cli.settings import Settings

LATEST_WINDOWS_SQL = """
SELECT window_start, payment_type, currency, merchant_category, channel, status,
       event_count, amount_sum, amount_min, amount_max, fraud_count
FROM payment_metrics_5m
ORDER BY window_start DESC, event_count DESC, payment_type, currency, merchant_category, channel, status
LIMIT %s
"""
# Per metric, its latest window's groups with the highest values.
TOP_DYNAMIC_SQL = """
SELECT metric_name, window_start, window_seconds, dimensions, value, sample_count
FROM (
    SELECT d.*,
           rank() OVER (PARTITION BY metric_name ORDER BY window_start DESC) AS window_rank,
           row_number() OVER (PARTITION BY metric_name, window_start ORDER BY value DESC, dimensions::text)
               AS value_rank
    FROM dynamic_metrics AS d
) AS ranked
WHERE window_rank = 1 AND value_rank <= %s
ORDER BY metric_name, value DESC, dimensions::text
"""


class MetricsWindow(BaseModel):
    """One payment_metrics_5m row; amounts in minor units of `currency`."""

    window_start: datetime
    payment_type: str
    currency: str
    merchant_category: str
    channel: str
    status: str
    event_count: int
    amount_sum: int
    amount_min: int
    amount_max: int
    fraud_count: int


class DynamicMetric(BaseModel):
    """One group of a rule-derived metric; `mean` is value / sample_count (a rate, for ratio rules)."""

    metric_name: str
    window_start: datetime
    window_seconds: int
    dimensions: dict[str, Any]
    value: float
    sample_count: int
    mean: float


class MetricsReport(BaseModel):
    windows: list[MetricsWindow]
    dynamic: list[DynamicMetric]


def latest_metrics(settings: Settings, *, limit: int = 20, top: int = 3) -> MetricsReport:
    """The `limit` most recent window rows (largest first within a window), and per dynamic metric the
    `top` groups of its latest window."""
    from paysim_cli.migrations.engine import require_migrated

    with connect(settings, autocommit=True, application_name="paysim metrics show") as conn:
        require_migrated(settings, conn)
        windows = [
            MetricsWindow.model_validate(dict(zip(MetricsWindow.model_fields, row, strict=True)))
            for row in conn.execute(LATEST_WINDOWS_SQL, (limit,)).fetchall()
        ]
        dynamic = [
            DynamicMetric(
                metric_name=name,
                window_start=window_start,
                window_seconds=window_seconds,
                dimensions=dimensions,
                value=float(value),
                sample_count=samples,
                mean=round(float(value) / samples, 6),
            )
            for name, window_start, window_seconds, dimensions, value, samples in conn.execute(
                TOP_DYNAMIC_SQL, (top,)
            ).fetchall()
        ]
    return MetricsReport(windows=windows, dynamic=dynamic)

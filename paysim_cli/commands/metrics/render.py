"""How metrics look to a person: the latest windows and the top dynamic metrics (the demo shows them too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.metrics.show import MetricsReport


def major_units(amount_minor: int, currency: str) -> str:
    """An amount in its currency's major unit, e.g. 12345 USD -> 123.45 USD."""
    from paysim_cli.simulator.contract import currency_exponents

    exponent = currency_exponents().get(currency, 0)
    return f"{amount_minor / 10**exponent:,.{exponent}f} {currency}"


def render_metrics(console: Console, report: MetricsReport) -> None:
    from rich.table import Table

    if not report.windows:
        console.print("no metrics yet: the pipeline has processed no events")
        return
    table = Table(title="payment_metrics_5m, latest windows")
    for column in (
        "window (UTC)",
        "type",
        "mcc",
        "channel",
        "status",
        "events",
        "amount",
        "average",
        "fraud",
    ):
        table.add_column(
            column, justify="right" if column in ("events", "amount", "average", "fraud") else "left"
        )
    for row in report.windows:
        table.add_row(
            f"{row.window_start:%Y-%m-%d %H:%M}",
            row.payment_type,
            row.merchant_category,
            row.channel,
            row.status,
            f"{row.event_count:,}",
            major_units(row.amount_sum, row.currency),
            major_units(row.amount_sum // row.event_count, row.currency),
            f"{row.fraud_count:,}",
        )
    console.print(table)
    if report.dynamic:
        dynamic = Table(title="dynamic metrics, latest window of each")
        for column in ("metric", "window (UTC)", "group", "value", "samples", "mean"):
            dynamic.add_column(column, justify="right" if column in ("value", "samples", "mean") else "left")
        for metric in report.dynamic:
            dynamic.add_row(
                metric.metric_name,
                f"{metric.window_start:%Y-%m-%d %H:%M} +{metric.window_seconds}s",
                " ".join(f"{name}={value}" for name, value in metric.dimensions.items()) or "-",
                f"{metric.value:,.6g}",
                f"{metric.sample_count:,}",
                f"{metric.mean:.4f}",
            )
        console.print(dynamic)

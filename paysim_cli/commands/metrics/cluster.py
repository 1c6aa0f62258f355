"""`paysim metrics cluster`: k-means groups of merchants by behaviour, written to merchant_clusters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import DatabaseUrlOption, JsonOption, option_help, validated
from paysim_cli.context import app_context
from paysim_cli.metrics.request import ClusterRequest

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.metrics.cluster import ClusterReport


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter("use RFC 3339, e.g. 2025-11-28T00:00:00Z") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


EXAMPLES = (
    "paysim metrics cluster",
    "paysim metrics cluster -k 6 --since 2025-11-28T00:00:00Z --until 2025-11-29T00:00:00Z --json",
)


def cluster(
    ctx: typer.Context,
    since: Annotated[
        datetime | None,
        typer.Option(
            parser=_moment, metavar="RFC3339", help="Events from this time.", show_default="--until - 1 day"
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(parser=_moment, metavar="RFC3339", help="Events before this time.", show_default="now"),
    ] = None,
    clusters: Annotated[
        int,
        typer.Option("--clusters", "-k", help=option_help("Number of clusters", ClusterRequest, "clusters")),
    ] = 4,
    seed: Annotated[
        int, typer.Option(help=option_help("Seed of the k-means++ initialisation", ClusterRequest, "seed"))
    ] = 0,
    min_events: Annotated[
        int,
        typer.Option(
            help=option_help(
                "Leave out merchants with fewer events (their rates are noise)", ClusterRequest, "min_events"
            )
        ),
    ] = 10,
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Group merchants by volume, average amount, decline and fraud rate (k-means over the raw events)."""
    from paysim_cli.metrics.cluster import cluster_merchants

    state = app_context(ctx, json_output)
    request = validated(
        ctx, ClusterRequest, since=since, until=until, clusters=clusters, seed=seed, min_events=min_events
    )
    report = cluster_merchants(state.settings.override(database_url=database_url), request)
    state.output.result(report, lambda console: render_clusters(console, report))


def render_clusters(console: Console, report: ClusterReport) -> None:
    from rich.table import Table

    table = Table(
        title=f"{report.merchants:,} merchants, {report.events:,} events from {report.since:%Y-%m-%d %H:%M} "
        f"to {report.until:%Y-%m-%d %H:%M} UTC, in {len(report.clusters)} clusters"
    )
    for column in (
        "cluster",
        "merchants",
        "events/merchant",
        "avg amount",
        "decline rate",
        "fraud rate",
        "busiest",
    ):
        table.add_column(column, justify="left" if column == "busiest" else "right")
    for group in report.clusters:
        table.add_row(
            str(group.cluster_id),
            f"{group.merchants:,}",
            f"{group.events_per_merchant:,.1f}",
            f"{group.average_amount:,.2f}",
            f"{group.decline_rate:.1%}",
            f"{group.fraud_rate:.2%}",
            ", ".join(group.examples),
        )
    console.print(table)
    console.print(
        f"written to merchant_clusters (run_at {report.run_at.isoformat()}); "
        f"{report.merchants_below_min_events:,} merchants had too few events"
    )

"""`paysim metrics cluster` as a service: group merchants by behaviour with k-means, store the groups.

Features per merchant, over the events of a time range in the raw-events archive: volume (events,
log-scaled), average amount (major units, log-scaled; currencies are not converted), decline rate
and fraud rate; standardised to z-scores so that no unit dominates. Each run is written to
`merchant_clusters` under its own `run_at`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from pydantic import BaseModel

from paysim_cli.db import connect
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.metrics.kmeans import kmeans, standardised
from paysim_cli.metrics.raw_events import MerchantActivity, scan_merchant_activity
from paysim_cli.metrics.request import ClusterRequest
from paysim_cli.migrations.engine import require_migrated
from paysim_cli.settings import Settings

FEATURES = ("events", "average_amount", "decline_rate", "fraud_rate")
DEFAULT_RANGE = timedelta(days=1)
EXAMPLES = 3


class MerchantCluster(BaseModel):
    """One group: its merchants' pooled behaviour, and a few of them (the busiest)."""

    cluster_id: int
    merchants: int
    events: int
    events_per_merchant: float
    average_amount: float
    decline_rate: float
    fraud_rate: float
    examples: list[str]


class ClusterReport(BaseModel):
    run_at: datetime
    since: datetime
    until: datetime
    seed: int
    blobs_read: int
    events: int
    duplicates_skipped: int
    merchants: int
    merchants_below_min_events: int
    inertia: float
    clusters: list[MerchantCluster]


def cluster_merchants(settings: Settings, request: ClusterRequest) -> ClusterReport:
    """Cluster the merchants active in the range and write the result to `merchant_clusters`."""
    import numpy as np

    until = (request.until or datetime.now(UTC)).astimezone(UTC)
    since = (request.since or until - DEFAULT_RANGE).astimezone(UTC)
    if since >= until:
        raise PaysimError(
            "invalid_time_range",
            f"--since {since:%Y-%m-%dT%H:%M:%SZ} is not before --until {until:%Y-%m-%dT%H:%M:%SZ}",
            "give a range that spans some time",
            exit_code=ExitCode.USAGE,
        )
    require_migrated(settings)  # before minutes of reading blobs for a table that is not there
    scan = scan_merchant_activity(settings, since, until)
    active = {
        merchant: act for merchant, act in sorted(scan.merchants.items()) if act.events >= request.min_events
    }
    if len(active) < request.clusters:
        raise PaysimError(
            "too_few_merchants",
            f"{len(active)} merchants have at least {request.min_events} events between "
            f"{since:%Y-%m-%dT%H:%M:%SZ} and {until:%Y-%m-%dT%H:%M:%SZ}; "
            f"{request.clusters} clusters need as many",
            "widen --since/--until, lower --min-events or --clusters, or run the pipeline on more events",
            exit_code=ExitCode.FAILURE,
        )
    features = {merchant: _features(activity) for merchant, activity in active.items()}
    values = np.array([[row[name] for name in FEATURES] for row in features.values()])
    # Volume and amount are heavy-tailed (Zipf merchants, log-normal amounts): cluster their logs.
    shaped = np.column_stack([np.log1p(values[:, 0]), np.log1p(values[:, 1]), values[:, 2], values[:, 3]])
    clustering = kmeans(standardised(shaped), request.clusters, seed=request.seed)
    run_at = datetime.now(UTC)
    labels = clustering.labels.tolist()
    _store(
        settings,
        run_at,
        [(merchant, label, features[merchant]) for merchant, label in zip(active, labels, strict=True)],
    )
    members: dict[int, list[str]] = {}
    for merchant, label in zip(active, labels, strict=True):
        members.setdefault(label, []).append(merchant)
    return ClusterReport(
        run_at=run_at,
        since=since,
        until=until,
        seed=request.seed,
        blobs_read=scan.blobs,
        events=scan.events,
        duplicates_skipped=scan.duplicates,
        merchants=len(active),
        merchants_below_min_events=len(scan.merchants) - len(active),
        inertia=round(clustering.inertia, 3),
        clusters=[_summary(label, members[label], active) for label in sorted(members)],
    )


def _features(activity: MerchantActivity) -> dict[str, float]:
    return {
        "events": activity.events,
        "average_amount": round(activity.amount_major / activity.events, 4),
        "decline_rate": round(activity.declined / activity.events, 6),
        "fraud_rate": round(activity.fraud / activity.events, 6),
    }


def _summary(label: int, merchants: list[str], activity: dict[str, MerchantActivity]) -> MerchantCluster:
    pooled = MerchantActivity()
    for merchant in merchants:
        pooled.events += activity[merchant].events
        pooled.amount_major += activity[merchant].amount_major
        pooled.declined += activity[merchant].declined
        pooled.fraud += activity[merchant].fraud
    busiest = sorted(merchants, key=lambda merchant: (-activity[merchant].events, merchant))[:EXAMPLES]
    features = _features(pooled)
    return MerchantCluster(
        cluster_id=label,
        merchants=len(merchants),
        events=pooled.events,
        events_per_merchant=round(pooled.events / len(merchants), 2),
        average_amount=features["average_amount"],
        decline_rate=features["decline_rate"],
        fraud_rate=features["fraud_rate"],
        examples=busiest,
    )


def _store(settings: Settings, run_at: datetime, rows: list[tuple[str, int, dict[str, float]]]) -> None:
    with connect(settings, application_name="paysim metrics cluster") as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY merchant_clusters (run_at, merchant_id, cluster_id, features) FROM STDIN"
        ) as copy:
            for merchant, label, features in rows:
                copy.write_row((run_at, merchant, label, orjson.dumps(features).decode()))
        conn.commit()

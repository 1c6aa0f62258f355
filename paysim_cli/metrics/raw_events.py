"""Per-merchant activity, read from the raw-events archive the pipeline writes to Blob.

Every batch is one gzip NDJSON object; each line is an envelope with the event's coordinates,
properties and its `body` (JSON, or `body_base64` when it was not JSON). The aggregate tables have no
merchant dimension, so the archive is where per-merchant behaviour lives (docs/adr/0007).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from paysim_cli.blob import blob_failure, container_client
from paysim_cli.settings import Settings
from paysim_cli.simulator.contract import allowed_values, currency_exponents
from paysim_pipeline.canary import is_canary_run
from paysim_pipeline.sinks.blob import decode_raw_events

if TYPE_CHECKING:
    pass

# The pipeline accepts event times up to this far ahead of its clock (PAYSIM_MAX_EVENT_SKEW_SECONDS'
# default), so a blob written before `since` minus this holds no event at or after `since`.
MAX_EVENT_SKEW = timedelta(hours=1)
EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass
class MerchantActivity:
    events: int = 0
    amount_major: float = 0.0  # in each event's currency's major unit: no FX conversion
    declined: int = 0
    fraud: int = 0


@dataclass
class ActivityScan:
    """What a scan of the archive found between two event times."""

    merchants: dict[str, MerchantActivity] = field(default_factory=dict)
    blobs: int = 0
    events: int = 0
    duplicates: int = 0  # transaction ids seen before (injected duplicates, producer retries)
    skipped: int = 0  # lines that are no valid event, or outside the time range


def scan_merchant_activity(settings: Settings, since: datetime, until: datetime) -> ActivityScan:
    """Valid events with `since` <= event_time < `until`, once per transaction id, per merchant."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    scan = ActivityScan()
    seen: set[str] = set()
    window = (_event_time_text(since), _event_time_text(until))
    try:
        with container_client(settings, settings.raw_events_container) as container:
            for blob in container.list_blobs():
                if blob.last_modified < since - MAX_EVENT_SKEW:
                    continue
                scan.blobs += 1
                for body in _bodies(container.download_blob(blob.name).readall()):
                    _count(scan, seen, body, window)
    except ResourceNotFoundError:
        return scan  # no container: the pipeline has archived nothing yet
    except AzureError as error:
        raise blob_failure(error, f"the raw events in {settings.raw_events_container}") from error
    return scan


def _event_time_text(moment: datetime) -> str:
    """The contract's event_time form, which sorts as text in time order."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"


def _bodies(archived: bytes) -> Iterator[Any]:
    for envelope in decode_raw_events(archived):
        yield envelope.get("body")


def _count(scan: ActivityScan, seen: set[str], body: Any, window: tuple[str, str]) -> None:
    event = _valid_event(body)
    if (
        event is None
        or is_canary_run(event.get("run_id"))
        or not window[0] <= event["event_time"] < window[1]
    ):
        scan.skipped += 1
        return
    if event["transaction_id"] in seen:
        scan.duplicates += 1
        return
    seen.add(event["transaction_id"])
    scan.events += 1
    activity = scan.merchants.setdefault(event["merchant"]["id"], MerchantActivity())
    activity.events += 1
    activity.amount_major += event["amount_minor"] / 10 ** currency_exponents()[event["currency"]]
    activity.declined += event["status"] == "declined"
    activity.fraud += event["is_fraud"] is True


def _valid_event(body: Any) -> dict[str, Any] | None:
    """The event, when it has what clustering reads, in the contract's types and values; else None.

    The pipeline's failed items are malformed by these same fields (schema and enum violations)."""
    if not isinstance(body, dict):
        return None
    merchant, amount = body.get("merchant"), body.get("amount_minor")
    valid = (
        isinstance(body.get("transaction_id"), str)
        and isinstance(body.get("event_time"), str)
        and EVENT_TIME.match(body["event_time"]) is not None
        and isinstance(merchant, dict)
        and isinstance(merchant.get("id"), str)
        and type(amount) is int
        and amount > 0
        and body.get("currency") in currency_exponents()
        and body.get("payment_type") in allowed_values("payment_type")
        and body.get("status") in allowed_values("status")
        and isinstance(body.get("is_fraud"), bool)
    )
    return body if valid else None

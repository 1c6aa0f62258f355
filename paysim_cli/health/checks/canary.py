"""The end-to-end check (`--probe`): publish one canary payment and time it to its commit.

The canary is a valid payment with a `paysim-canary:` run id (paysim_pipeline.canary): the pipeline
validates it like any event and records it in `canary_payments` instead of any metric, in the batch's
transaction. Its time is measured on this machine's clock alone, from just before the publish to the
poll that sees the row, so no clock needs to agree with another; the poll adds up to POLL_SECONDS.
"""

from __future__ import annotations

import time
import uuid
from contextlib import closing
from datetime import UTC, datetime

import orjson

from paysim_cli.health.backlog import hub_target
from paysim_cli.health.checks.base import CheckContext, limits, result
from paysim_cli.health.connection import health_connection
from paysim_cli.health.models import CheckName, CheckResult, CheckStatus
from paysim_cli.hub.targets import open_publisher
from paysim_cli.hub.transport import OutgoingEvent
from paysim_pipeline.canary import CANARY_RUN_PREFIX

POLL_SECONDS = 0.05

FIND_CANARY = """
SELECT source_partition, source_sequence_number, committed_at FROM canary_payments
WHERE transaction_id = %s"""
FIND_FAILED = "SELECT stage, error_code, error_message FROM failed_items WHERE transaction_id = %s LIMIT 1"


def canary_body(transaction_id: str, run_id: str, moment: datetime) -> bytes:
    """A minimal valid payment of the event contract (version 1): one cent, approved, no fraud."""
    return orjson.dumps(
        {
            "schema_version": 1,
            "transaction_id": transaction_id,
            "event_time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z",
            "payment_type": "wallet",
            "amount_minor": 1,
            "currency": "USD",
            "merchant": {"id": "paysim-canary", "mcc": "5999", "country": "US"},
            "customer": {"id": "paysim-canary", "country": "US"},
            "channel": "api",
            "device": None,
            "status": "approved",
            "decline_reason": None,
            "card": None,
            "is_fraud": False,
            "fraud_scenario": None,
            "run_id": run_id,
        }
    )


def check_canary(context: CheckContext) -> CheckResult:
    import psycopg

    settings, thresholds = context.settings, context.thresholds
    transaction_id, run_id = str(uuid.uuid4()), f"{CANARY_RUN_PREFIX}{uuid.uuid4().hex}"
    event = OutgoingEvent(
        canary_body(transaction_id, run_id, datetime.now(UTC)),
        partition_key=transaction_id,
        properties={"run_id": run_id},
    )
    limit = limits(thresholds.canary_warn_seconds, thresholds.canary_timeout_seconds, "s")
    with health_connection(settings, context.timeout) as connection:
        with closing(open_publisher(settings, hub_target(settings))) as publisher:
            sent = time.monotonic()
            publisher.publish([event])
        try:
            while (row := connection.execute(FIND_CANARY, (transaction_id,)).fetchone()) is None:
                failed = connection.execute(FIND_FAILED, (transaction_id,)).fetchone()
                if failed is not None:
                    return _became_failed_item(transaction_id, failed, limit)
                if time.monotonic() - sent >= thresholds.canary_timeout_seconds:
                    return result(
                        CheckName.CANARY,
                        CheckStatus.FAIL,
                        f"canary {transaction_id} was not committed within "
                        f"{thresholds.canary_timeout_seconds:g} s",
                        value="not committed",
                        threshold=limit,
                        hint="the pipeline is not processing: see the lag, freshness and function checks",
                        transaction_id=transaction_id,
                    )
                time.sleep(POLL_SECONDS)
        except psycopg.errors.UndefinedTable as error:
            return result(
                CheckName.CANARY,
                CheckStatus.FAIL,
                "the database has no canary_payments table",
                hint="run `paysim db migrate` (migration 0008) before probing",
                error=str(error).splitlines()[0],
            )
    elapsed = time.monotonic() - sent
    status = CheckStatus.OK if elapsed < thresholds.canary_warn_seconds else CheckStatus.WARN
    partition, sequence_number, _ = row
    return result(
        CheckName.CANARY,
        status,
        f"canary committed {elapsed:.2f} s after publishing (partition {partition}, "
        f"sequence number {sequence_number})",
        value=f"{elapsed:.2f} s",
        threshold=limit,
        hint=None if status is CheckStatus.OK else "the pipeline is slow: see the lag and freshness checks",
        transaction_id=transaction_id,
        run_id=run_id,
        seconds=round(elapsed, 3),
        partition_id=str(partition),
        sequence_number=int(sequence_number),
    )


def _became_failed_item(transaction_id: str, failed: tuple[object, ...], limit: str) -> CheckResult:
    stage, code, message = failed
    return result(
        CheckName.CANARY,
        CheckStatus.FAIL,
        f"canary {transaction_id} became a failed item at {stage}: {code}: {message}",
        value="failed item",
        threshold=limit,
        hint="the deployed pipeline rejects a valid payment: compare its event schema with this paysim's",
        transaction_id=transaction_id,
        error_code=str(code),
    )

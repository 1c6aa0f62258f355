"""`paysim dlq`'s SQL on failed_items and failed_item_history, filters as conditions, connection rules.

Pages are keyset pages on `id` (newest first for people, oldest first for replays). A status or code
condition reads failed_item_states (migration 0009), the items' status and code in step with
failed_items, by its (state, item_id) and (state, code, item_id) indexes: a page costs the same on a
table of millions. failed_items.status stays authoritative and is checked too, so a row locked after
another replay changed it is re-checked on its new version and passed over.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from paysim_cli.db import connect
from paysim_cli.dlq.bounds import ItemStatus
from paysim_cli.dlq.models import ItemFilter
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.secrets import mask_secrets
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from paysim_cli.db import Connection

# Every query that filters joins the states (pages in id order: see _ordered).
ITEMS = "failed_items JOIN failed_item_states ON item_id = id"

SUMMARY_COLUMNS = """id, status, stage, error_code, error_message, transaction_id::text, source_partition,
source_sequence_number, run_id, attempts, created_at, updated_at, octet_length(raw_payload)"""
# What a replay needs of each item it locks, in this order (see LockedItem in replay.py).
REPLAY_COLUMNS = """id, status, stage, error_code, error_message, transaction_id::text, run_id,
source_partition, source_sequence_number, raw_payload"""

HISTORY = """
SELECT acted_at, operation_id, action, route, outcome, status_before, status_after, actor, actor_kind,
       stage, error_code, error_message, replaced_error_code, replaced_error_message, reason, payload,
       destination
FROM failed_item_history WHERE failed_item_id = %s ORDER BY id"""

# Counted from the narrow states' (state, code, item_id) index (index-only once vacuumed), not the
# table's payloads; a code's stage is read from one of its items (each code belongs to one stage).
STATS_BY_CODE = f"""
SELECT (SELECT stage FROM {ITEMS}
        WHERE state = counted.state AND code = counted.code LIMIT 1),
       code, state, items
FROM (SELECT state, code, count(*) AS items FROM failed_item_states GROUP BY 1, 2) AS counted
ORDER BY 1, 2, 3"""
OLDEST_PENDING = f"""
SELECT id, created_at, extract(epoch FROM statement_timestamp() - created_at)::float8
FROM {ITEMS} WHERE state = 'pending' AND status = 'pending' ORDER BY item_id LIMIT 1"""
# Failed items created in each of the last 24 hours (UTC), empty hours included.
LAST_DAY = """
SELECT hours.hour, count(f.id)
FROM generate_series(
    date_trunc('hour', statement_timestamp(), 'UTC') - interval '23 hours',
    date_trunc('hour', statement_timestamp(), 'UTC'),
    interval '1 hour'
) AS hours (hour)
LEFT JOIN failed_items AS f ON f.created_at >= hours.hour AND f.created_at < hours.hour + interval '1 hour'
GROUP BY 1 ORDER BY 1"""

# The states' statistics, refreshed before a replay when they are missing or a tenth of the rows changed
# since: with none (a burst of new failed items autovacuum has not analyzed yet) the planner expects a
# few rows and sorts every pending item for each batch instead of reading the key in order. (A role
# that may not analyze the table gets a warning, and the replay goes on.)
REFRESH_STATE_STATISTICS = """
DO $$
BEGIN
    IF coalesce((SELECT last_analyze IS NULL AND last_autoanalyze IS NULL
                        OR n_mod_since_analyze > greatest(n_live_tup, 1000) / 10
                 FROM pg_stat_user_tables WHERE relid = 'failed_item_states'::regclass), true) THEN
        ANALYZE failed_item_states;
    END IF;
END
$$"""

# A replay's outcomes, one statement per batch: the items' new status, attempts and error, and one
# history row each. Previous status and error come from the caller, who read them under the row lock.
RECORD_REPLAYS = """
WITH outcome AS (
    -- An item that fails again keeps its status; any other outcome replays it.
    SELECT *, CASE WHEN outcome = 'failed' THEN status_before ELSE 'replayed' END AS status_after
    FROM unnest(
        %(id)s::bigint[], %(outcome)s::text[], %(status_before)s::text[],
        %(stage)s::text[], %(error_code)s::text[], %(error_message)s::text[],
        %(replaced_error_code)s::text[], %(replaced_error_message)s::text[], %(payload)s::bytea[],
        %(destination)s::text[]
    ) AS o (
        id, outcome, status_before, stage, error_code, error_message,
        replaced_error_code, replaced_error_message, payload, destination
    )
), updated AS (
    UPDATE failed_items AS f SET
        status = o.status_after,
        attempts = f.attempts + 1,
        stage = coalesce(o.stage, f.stage),
        error_code = coalesce(o.error_code, f.error_code),
        error_message = coalesce(o.error_message, f.error_message)
    FROM outcome AS o WHERE f.id = o.id
)
INSERT INTO failed_item_history (
    failed_item_id, operation_id, action, route, outcome, status_before, status_after, actor, actor_kind,
    stage, error_code, error_message, replaced_error_code, replaced_error_message, payload, destination
)
SELECT id, %(operation_id)s, 'replay', %(route)s, outcome, status_before, status_after, %(actor)s,
       %(actor_kind)s, stage, error_code, error_message, replaced_error_code, replaced_error_message,
       payload, destination::jsonb
FROM outcome ORDER BY id"""

# The items and their history, in one statement: there is no foreign key to cascade (migration 0007).
PURGE = """
WITH purged AS (
    DELETE FROM failed_items USING failed_item_states
    WHERE item_id = id AND state = %(status)s AND status = %(status)s AND updated_at < %(cutoff)s
    RETURNING id
), history AS (
    DELETE FROM failed_item_history AS h USING purged WHERE h.failed_item_id = purged.id RETURNING 1
)
SELECT (SELECT count(*) FROM purged), (SELECT count(*) FROM history)"""


def conditions(item_filter: ItemFilter) -> tuple[str, dict[str, Any]]:
    """The filter as a WHERE condition over `ITEMS`, and its parameters (named `f_*`). Status and code
    are matched in the states (whose indexes find the rows) and in the item (which is authoritative)."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    scalar = {
        "status": (
            None if item_filter.status is None else str(item_filter.status),
            "state = %(f_status)s AND status = %(f_status)s",
        ),
        "since": (item_filter.since, "created_at >= %(f_since)s"),
        "until": (item_filter.until, "created_at < %(f_until)s"),
        "transaction_id": (item_filter.transaction_id, "transaction_id = %(f_transaction_id)s"),
        "run_id": (item_filter.run_id, "run_id = %(f_run_id)s"),
    }
    for name, (value, condition) in scalar.items():
        if value is not None:
            parts.append(condition)
            params[f"f_{name}"] = value
    arrays = {
        "codes": (
            list(item_filter.codes),
            "code = ANY(%(f_codes)s::text[]) AND error_code = ANY(%(f_codes)s::text[])",
        ),
        "stages": (list(item_filter.stages), "stage = ANY(%(f_stages)s::text[])"),
        "partitions": (list(item_filter.partitions), "source_partition = ANY(%(f_partitions)s::text[])"),
        "ids": (list(item_filter.ids), "id = ANY(%(f_ids)s::bigint[])"),
    }
    for name, (values, condition) in arrays.items():
        if values:
            parts.append(condition)
            params[f"f_{name}"] = values
    return " AND ".join(parts) or "true", params


def list_query(where: str, *, any_status: bool = False) -> str:
    """A page newest first. For any status, a page per status merged: each reads the states' (state,
    ...) indexes in id order, where one scan of all ids would pass over every item the filter refuses."""
    if not any_status:
        return _page(where)
    pages = " UNION ALL ".join(
        "(" + _page(f"state = '{status}' AND status = '{status}' AND {where}") + ")" for status in ItemStatus
    )
    return f"SELECT * FROM ({pages}) AS pages ORDER BY id DESC LIMIT %(limit)s"


def _page(where: str) -> str:
    return _ordered(
        SUMMARY_COLUMNS, where, "item_id < coalesce(%(after_id)s, 9223372036854775807)", descending=True
    )


def _ordered(columns: str, where: str, after: str, *, descending: bool = False, lock: bool = False) -> str:
    """A keyset page of the items matching `where` in the states' id order: each state row found by its
    index, then its item by id. The join is on `item_id + 0` so that the planner cannot take the two ids
    for one and page through failed_items' own id order instead, passing over every item of another
    status (all the replayed ones, say) to find the next pending one. Locked, only the items returned
    are (the lock is applied in order, under the LIMIT), and only failed_items' rows."""
    order = " DESC" if descending else ""
    locking = " FOR UPDATE OF failed_items SKIP LOCKED" if lock else ""
    return f"""SELECT {columns} FROM failed_item_states JOIN failed_items ON id = item_id + 0
WHERE {where} AND {after} ORDER BY item_id{order} LIMIT %(limit)s{locking}"""


def item_query() -> str:
    return f"""SELECT {SUMMARY_COLUMNS}, source_offset, source_enqueued_time, raw_payload
FROM failed_items WHERE id = %s"""


def count_query(where: str) -> str:
    """How many items match, counting at most %(cap)s (NULL: no cap)."""
    return f"SELECT count(*) FROM (SELECT 1 FROM {ITEMS} WHERE {where} LIMIT %(cap)s) AS matched"


def replay_batch_query(where: str, *, lock: bool, only_ids: bool = False) -> str:
    """The next items of a replay in id order after %(after_id)s (with `only_ids`: those of
    %(only_ids)s still matching); locked, skipping rows another replay holds, unless `lock` is false.
    Only the item's row is locked: its state row follows it, written by failed_items' triggers."""
    among = " AND item_id = ANY(%(only_ids)s::bigint[])" if only_ids else ""
    return _ordered(REPLAY_COLUMNS, where, f"item_id > %(after_id)s{among}", lock=lock)


def export_query(where: str) -> str:
    return _ordered(f"{SUMMARY_COLUMNS}, raw_payload", where, "item_id > %(after_id)s")


def discard_statement(where: str) -> str:
    """Discard the matching items (their filter keeps them pending) and write their history rows."""
    return f"""WITH discarded AS (
    UPDATE failed_items SET status = 'discarded' FROM failed_item_states
    WHERE item_id = id AND {where} RETURNING id
)
INSERT INTO failed_item_history (
    failed_item_id, operation_id, action, outcome, status_before, status_after, actor, actor_kind, reason
)
SELECT id, %(operation_id)s, 'discard', 'discarded', 'pending', 'discarded', %(actor)s, %(actor_kind)s,
       %(reason)s
FROM discarded ORDER BY id"""


@contextmanager
def dlq_connection(settings: Settings, verb: str, *, autocommit: bool = True) -> Iterator[Connection]:
    """A connection for `paysim dlq VERB` on a migrated database; a lost server is a PaysimError."""
    import psycopg

    from paysim_cli.migrations.engine import require_migrated

    try:
        with connect(settings, autocommit=autocommit, application_name=f"paysim dlq {verb}") as conn:
            require_migrated(settings, conn)
            yield conn
    except psycopg.OperationalError as error:
        raise database_lost(error) from error


def database_lost(error: BaseException) -> PaysimError:
    return PaysimError(
        "database_unreachable",
        "PostgreSQL failed during the command: " + mask_secrets(" ".join(str(error).split())),
        "nothing of an unfinished batch was committed; check the server (`paysim local status` for the "
        "local stack) and run the command again",
        exit_code=ExitCode.UNAVAILABLE,
    )


def require_items(conn: Connection, ids: Sequence[int]) -> None:
    """`failed_item_not_found` naming the ids no failed item has."""
    if not ids:
        return
    row = conn.execute(
        "SELECT coalesce(array_agg(wanted ORDER BY wanted), '{}') FROM unnest(%s::bigint[]) AS wanted "
        "WHERE NOT EXISTS (SELECT 1 FROM failed_items WHERE id = wanted)",
        (list(ids),),
    ).fetchone()
    missing: list[int] = row[0] if row is not None else []
    if missing:
        raise items_not_found(missing)


def items_not_found(ids: Sequence[int]) -> PaysimError:
    shown = ", ".join(map(str, ids[:10])) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    return PaysimError(
        "failed_item_not_found",
        f"no failed item with id {shown}",
        "`paysim dlq list --status all` shows the failed items and their ids",
        exit_code=ExitCode.USAGE,
    )

-- paysim:no-transaction
-- 0007_failed_item_history: the audit trail of `paysim dlq`: one row per failed item a replay or a
-- discard touched — when, who, by which route, with what outcome and error — so `paysim dlq show` can
-- print an item's history and an auditor can answer "who resubmitted this payment, and what happened".
-- Also the indexes `paysim dlq list` and `replay` page by (status, then id order), built CONCURRENTLY
-- so the pipeline keeps inserting failed items meanwhile (and one they replace, dropped the same way);
-- hence no transaction, and every statement is safe to run again.

CREATE TABLE IF NOT EXISTS failed_item_history (
    id                     bigint      GENERATED ALWAYS AS IDENTITY,
    failed_item_id         bigint      NOT NULL,
    operation_id           uuid        NOT NULL,
    action                 text        NOT NULL,
    route                  text,
    outcome                text        NOT NULL,
    status_before          text        NOT NULL,
    status_after           text        NOT NULL,
    actor                  text        NOT NULL,
    actor_kind             text        NOT NULL,
    acted_at               timestamptz NOT NULL DEFAULT now(),
    stage                  text,
    error_code             text,
    error_message          text,
    replaced_error_code    text,
    replaced_error_message text,
    reason                 text,
    payload                bytea,
    destination            jsonb,
    CONSTRAINT failed_item_history_pkey PRIMARY KEY (id),
    CONSTRAINT failed_item_history_action_check CHECK (action IN ('replay', 'discard')),
    CONSTRAINT failed_item_history_route_check CHECK (
        CASE action WHEN 'replay' THEN route IN ('processor', 'hub') ELSE route IS NULL END
    ),
    CONSTRAINT failed_item_history_outcome_check CHECK (
        CASE action
            WHEN 'replay' THEN outcome IN ('processed', 'duplicate', 'failed', 'published')
            ELSE outcome = 'discarded'
        END
    ),
    CONSTRAINT failed_item_history_status_check CHECK (
        status_before IN ('pending', 'replayed', 'discarded') AND status_after IN ('pending', 'replayed', 'discarded')
    ),
    CONSTRAINT failed_item_history_actor_kind_check CHECK (actor_kind IN ('os_user', 'entra')),
    CONSTRAINT failed_item_history_error_check CHECK ((outcome = 'failed') = (error_code IS NOT NULL)),
    CONSTRAINT failed_item_history_reason_check CHECK ((action = 'discard') = (reason IS NOT NULL)),
    CONSTRAINT failed_item_history_destination_check CHECK (
        (outcome = 'published') = (destination IS NOT NULL)
        AND (destination IS NULL OR jsonb_typeof(destination) = 'object')
    )
);

COMMENT ON TABLE failed_item_history IS
    'One row per failed item a `paysim dlq replay` or `discard` touched: who, when, route, outcome, error.';
COMMENT ON COLUMN failed_item_history.operation_id IS
    'One `paysim dlq replay` or `discard` invocation: every row it wrote shares it.';
COMMENT ON COLUMN failed_item_history.actor IS
    'Who acted: the OS user (user@host), or the Entra identity (upn, else oid) with database_auth = entra.';
COMMENT ON COLUMN failed_item_history.replaced_error_message IS
    'A failed replay overwrites the item''s error with the new one; the error it replaced is kept here.';
COMMENT ON COLUMN failed_item_history.payload IS
    'The bytes replayed when they differ from failed_items.raw_payload (an edited payload, --from-file).';
COMMENT ON COLUMN failed_item_history.destination IS
    'Where a --via hub replay published the item: target, hub and partition id.';

-- No foreign key to failed_items: its check, once per history row, cost a fifth of a replay batch's
-- bookkeeping. Rows are written only for items the writer holds locked, and `paysim dlq purge` (the
-- only delete) removes an item's history in the same transaction; the verify script checks both.
-- `paysim dlq show` reads an item's history in order, and purge finds it, by this index.
CREATE INDEX IF NOT EXISTS failed_item_history_failed_item_id_idx ON failed_item_history (failed_item_id, id);

-- `paysim dlq list` (newest first) and `replay` (oldest first) page by id within a status, and within a
-- status and error code: keyset pages from an index, however many items are stored. A failed
-- concurrent build leaves an INVALID index behind; dropping it first makes a rerun clean.
DROP INDEX CONCURRENTLY IF EXISTS failed_items_status_id_idx;
CREATE INDEX CONCURRENTLY failed_items_status_id_idx ON failed_items (status, id);
DROP INDEX CONCURRENTLY IF EXISTS failed_items_status_error_code_id_idx;
CREATE INDEX CONCURRENTLY failed_items_status_error_code_id_idx ON failed_items (status, error_code, id);

-- 0002's (status, created_at) and (error_code, created_at) are superseded by these two (ids grow in
-- insertion order); every index is one more entry each replay writes per item, since a status change
-- is never a HOT update.
DROP INDEX CONCURRENTLY IF EXISTS failed_items_status_created_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS failed_items_error_code_created_at_idx;

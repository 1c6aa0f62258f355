-- 0009_failed_item_states: a replay's status change becomes a HOT update. A replay changes an item's
-- status; while `status` was in failed_items' indexes ((status, id) and (status, error_code, id), 0007)
-- every change wrote a new version of the wide row (its payload) and an entry in each of the table's
-- seven indexes, about half of PostgreSQL's time per replayed item. Now the pages by status are served
-- by failed_item_states, one narrow row per item (its status and error code) kept in step by triggers,
-- so no index of failed_items names a column a replay changes, and with room left on each page
-- (fillfactor 50) the new version stays on the page: a heap-only tuple, no index entry at all.
-- One transaction: writers wait while the states are filled in (readers do not), so none is missed.

LOCK TABLE failed_items IN SHARE ROW EXCLUSIVE MODE;

-- Pages filled after this keep half their space for the next versions of their rows (an item is
-- usually replayed once); pages written before keep their rows packed (VACUUM FULL repacks them).
ALTER TABLE failed_items SET (fillfactor = 50);

-- Keyed by (state, item_id), the index the pages by status read: a status change writes two index
-- entries (this and the one by code), not three. One row per item is the triggers' doing (an item's
-- row is found by its id among the three states); the verify script checks it.
CREATE TABLE failed_item_states (
    item_id bigint NOT NULL,
    state   text   NOT NULL,
    code    text   NOT NULL,
    CONSTRAINT failed_item_states_pkey PRIMARY KEY (state, item_id),
    CONSTRAINT failed_item_states_state_check CHECK (state IN ('pending', 'replayed', 'discarded'))
);

COMMENT ON TABLE failed_item_states IS
    'failed_items.status and error_code per item, kept in step by triggers: what pages by status read.';

INSERT INTO failed_item_states (item_id, state, code) SELECT id, status, error_code FROM failed_items;

-- `paysim dlq list` (newest first), `replay` (oldest first) and `stats` page and count by status (the
-- key), and by status and error code (this index).
CREATE INDEX failed_item_states_state_code_item_id_idx ON failed_item_states (state, code, item_id);

-- Statement triggers with transition tables: one set-based statement per writer's statement (a row
-- trigger would run a statement per item). Every writer is covered, operators' SQL included. The
-- update and delete find each item's row by its key: the planner cannot know how few rows a transition
-- table holds, and a hash join over a scan of every state row cost 600 µs per replayed item when
-- the states had no statistics yet, so those two functions plan with index probes only.
CREATE FUNCTION paysim_failed_item_states_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO failed_item_states (item_id, state, code) SELECT id, status, error_code FROM inserted;
    RETURN NULL;
END
$$;

CREATE FUNCTION paysim_failed_item_states_update() RETURNS trigger
    LANGUAGE plpgsql
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
    AS $$
BEGIN
    UPDATE failed_item_states AS s SET state = n.status, code = n.error_code
    FROM updated AS n
    WHERE s.state IN ('pending', 'replayed', 'discarded') AND s.item_id = n.id
      AND (s.state <> n.status OR s.code <> n.error_code);
    RETURN NULL;
END
$$;

CREATE FUNCTION paysim_failed_item_states_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
    AS $$
BEGIN
    DELETE FROM failed_item_states AS s USING deleted AS d
    WHERE s.state IN ('pending', 'replayed', 'discarded') AND s.item_id = d.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION paysim_failed_item_states_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE failed_item_states;
    RETURN NULL;
END
$$;

CREATE TRIGGER failed_item_states_insert AFTER INSERT ON failed_items
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION paysim_failed_item_states_insert();
CREATE TRIGGER failed_item_states_update AFTER UPDATE ON failed_items
    REFERENCING NEW TABLE AS updated
    FOR EACH STATEMENT EXECUTE FUNCTION paysim_failed_item_states_update();
CREATE TRIGGER failed_item_states_delete AFTER DELETE ON failed_items
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION paysim_failed_item_states_delete();
CREATE TRIGGER failed_item_states_truncate AFTER TRUNCATE ON failed_items
    FOR EACH STATEMENT EXECUTE FUNCTION paysim_failed_item_states_truncate();

-- Superseded by failed_item_states' indexes; they are what made every status change a full update.
DROP INDEX failed_items_status_id_idx;
DROP INDEX failed_items_status_error_code_id_idx;

-- Each replayed item writes a history row; keyed by (failed_item_id, id), the order `paysim dlq show`
-- reads an item's history in and purge finds it by, the row has one index entry, not two (id alone).
ALTER TABLE failed_item_history DROP CONSTRAINT failed_item_history_pkey;
ALTER TABLE failed_item_history ADD CONSTRAINT failed_item_history_pkey PRIMARY KEY (failed_item_id, id);
DROP INDEX failed_item_history_failed_item_id_idx;

ANALYZE failed_item_states;

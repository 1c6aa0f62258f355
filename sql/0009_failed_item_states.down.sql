-- Reverts 0009_failed_item_states.up.sql: the status indexes back on failed_items, the states gone.

LOCK TABLE failed_items IN SHARE ROW EXCLUSIVE MODE;

CREATE INDEX failed_item_history_failed_item_id_idx ON failed_item_history (failed_item_id, id);
ALTER TABLE failed_item_history DROP CONSTRAINT failed_item_history_pkey;
ALTER TABLE failed_item_history ADD CONSTRAINT failed_item_history_pkey PRIMARY KEY (id);

CREATE INDEX failed_items_status_id_idx ON failed_items (status, id);
CREATE INDEX failed_items_status_error_code_id_idx ON failed_items (status, error_code, id);

DROP TRIGGER failed_item_states_truncate ON failed_items;
DROP TRIGGER failed_item_states_delete ON failed_items;
DROP TRIGGER failed_item_states_update ON failed_items;
DROP TRIGGER failed_item_states_insert ON failed_items;
DROP FUNCTION paysim_failed_item_states_truncate();
DROP FUNCTION paysim_failed_item_states_delete();
DROP FUNCTION paysim_failed_item_states_update();
DROP FUNCTION paysim_failed_item_states_insert();
DROP TABLE failed_item_states;

ALTER TABLE failed_items RESET (fillfactor);

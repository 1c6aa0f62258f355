-- paysim:no-transaction
-- Reverts 0007_failed_item_history.up.sql without blocking the pipeline's failed-item inserts.
DROP INDEX CONCURRENTLY IF EXISTS failed_items_error_code_created_at_idx;
CREATE INDEX CONCURRENTLY failed_items_error_code_created_at_idx ON failed_items (error_code, created_at);
DROP INDEX CONCURRENTLY IF EXISTS failed_items_status_created_at_idx;
CREATE INDEX CONCURRENTLY failed_items_status_created_at_idx ON failed_items (status, created_at);
DROP INDEX CONCURRENTLY IF EXISTS failed_items_status_error_code_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS failed_items_status_id_idx;
DROP TABLE IF EXISTS failed_item_history;

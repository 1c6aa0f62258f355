-- Reverts 0006_run_reconciliation.up.sql.
DROP INDEX failed_items_run_id_idx;
ALTER TABLE failed_items DROP COLUMN run_id;
DROP TABLE run_totals;
DROP TABLE run_metrics_5m;

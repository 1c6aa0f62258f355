-- paysim:no-transaction
-- Reverts 0005_metrics_freshness_index.up.sql without blocking writers.
DROP INDEX CONCURRENTLY IF EXISTS payment_metrics_5m_updated_at_idx;

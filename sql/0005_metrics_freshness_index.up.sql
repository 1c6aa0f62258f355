-- paysim:no-transaction
-- 0005_metrics_freshness_index: `paysim health` reads max(updated_at) of payment_metrics_5m to tell
-- how fresh the pipeline's output is. CONCURRENTLY keeps the pipeline writing while the index builds,
-- and cannot run inside a transaction, hence the marker above.

-- A failed concurrent build leaves an INVALID index behind; dropping it first makes a rerun clean.
DROP INDEX CONCURRENTLY IF EXISTS payment_metrics_5m_updated_at_idx;
CREATE INDEX CONCURRENTLY payment_metrics_5m_updated_at_idx ON payment_metrics_5m (updated_at);

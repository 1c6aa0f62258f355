-- paysim:no-transaction
-- Reverts 0010_metrics_hot_updates.up.sql: 0001's bucket addition, the metric tables packed again,
-- 0005's index back, built without blocking the pipeline's writes (a failed build's INVALID leftover
-- dropped first).
CREATE OR REPLACE FUNCTION paysim_add_bucket_counts(current_counts bigint[], added_counts bigint[]) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(
        SELECT current_count + added_count
        FROM unnest(current_counts, added_counts) WITH ORDINALITY AS pair (current_count, added_count, position)
        ORDER BY position
    );
ALTER TABLE dynamic_metrics RESET (fillfactor);
ALTER TABLE aggregate_histograms RESET (fillfactor);
ALTER TABLE payment_metrics_5m RESET (fillfactor);
DROP INDEX CONCURRENTLY IF EXISTS payment_metrics_5m_updated_at_idx;
CREATE INDEX CONCURRENTLY payment_metrics_5m_updated_at_idx ON payment_metrics_5m (updated_at);

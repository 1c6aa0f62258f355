-- paysim:no-transaction
-- 0010_metrics_hot_updates: the metric upserts become HOT updates. Every batch (the pipeline's, and a
-- replay's) updates the stored rows of its windows in payment_metrics_5m, aggregate_histograms and
-- dynamic_metrics. While 0005's index on payment_metrics_5m (updated_at) existed, every such update
-- changed an indexed column: a new row version elsewhere and an entry in both of the table's indexes.
-- Nothing reads that index (`paysim health` measures freshness from the event hub's backlog, not
-- from max(updated_at)), so it goes; with room left on each page (fillfactor) the new version of a
-- row stays on its page: a heap-only tuple, no index entry at all. Pages filled before keep their
-- rows packed (VACUUM FULL repacks them); the rows a pipeline keeps updating are the new windows'.
-- DROP INDEX CONCURRENTLY keeps the pipeline writing meanwhile and runs outside a transaction, hence
-- the marker above; every statement is safe to run again.

DROP INDEX CONCURRENTLY IF EXISTS payment_metrics_5m_updated_at_idx;

-- Half of each page free: a window's rows are updated by every batch while they are current, and a
-- concurrent batch's snapshot keeps the versions it may see until it ends, so a page needs room for a
-- few versions of each of its rows before pruning can reclaim the dead ones.
ALTER TABLE payment_metrics_5m SET (fillfactor = 50);
ALTER TABLE aggregate_histograms SET (fillfactor = 50);
ALTER TABLE dynamic_metrics SET (fillfactor = 50);

-- Every histogram upsert adds its batch's bucket counts to the stored ones. 0001's SQL body (unnest
-- WITH ORDINALITY, then ORDER BY) cost ~20 µs per row, more than the update it is part of; a batch's
-- row usually holds a count in one or two of the 40 buckets, so this adds only the buckets that
-- changed, in place. Same result as 0001's for every input the CHECK constraint admits (arrays of one
-- length; a NULL count makes its bucket NULL); arrays of different lengths are an error, not padded.
CREATE OR REPLACE FUNCTION paysim_add_bucket_counts(current_counts bigint[], added_counts bigint[])
    RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    total bigint[] := current_counts;
    added bigint;
    bucket integer := 0;
BEGIN
    IF cardinality(current_counts) <> cardinality(added_counts) THEN
        RAISE EXCEPTION 'bucket counts of different lengths: % and %',
            cardinality(current_counts), cardinality(added_counts);
    END IF;
    FOREACH added IN ARRAY added_counts LOOP
        bucket := bucket + 1;
        IF added IS DISTINCT FROM 0 THEN
            total[bucket] := total[bucket] + added;
        END IF;
    END LOOP;
    RETURN total;
END
$$;

-- 0006_run_reconciliation: what `paysim verify RUN_ID` reconciles a simulate run's manifest against.
-- The pipeline writes these in the batch's transaction, from the event's run_id (valid events) or the
-- run_id application property (failed ones), so they are exact under redelivery like the aggregates.

CREATE TABLE run_metrics_5m (
    run_id            text        NOT NULL,
    window_start      timestamptz NOT NULL,
    payment_type      text        NOT NULL,
    currency          text        NOT NULL,
    merchant_category text        NOT NULL,
    channel           text        NOT NULL,
    status            text        NOT NULL,
    event_count       bigint      NOT NULL,
    amount_sum        bigint      NOT NULL,
    fraud_count       bigint      NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT run_metrics_5m_pkey
        PRIMARY KEY (run_id, window_start, payment_type, currency, merchant_category, channel, status),
    CONSTRAINT run_metrics_5m_window_aligned CHECK (mod(extract(epoch FROM window_start), 300) = 0),
    CONSTRAINT run_metrics_5m_counts_check CHECK (event_count > 0 AND fraud_count BETWEEN 0 AND event_count)
);

COMMENT ON TABLE run_metrics_5m IS
    'payment_metrics_5m per simulate run (the event''s run_id): counts and sums to reconcile with the manifest.';

CREATE TABLE run_totals (
    run_id             text        NOT NULL,
    processed          bigint      NOT NULL,
    duplicates_dropped bigint      NOT NULL,
    failed             bigint      NOT NULL,
    first_commit_at    timestamptz NOT NULL,
    last_commit_at     timestamptz NOT NULL,
    CONSTRAINT run_totals_pkey PRIMARY KEY (run_id),
    CONSTRAINT run_totals_counts_check CHECK (processed >= 0 AND duplicates_dropped >= 0 AND failed >= 0),
    CONSTRAINT run_totals_commit_times_check CHECK (first_commit_at <= last_commit_at)
);

COMMENT ON TABLE run_totals IS
    'Per run: events aggregated, duplicates dropped, failed items, and when its first and last batch committed.';

ALTER TABLE failed_items ADD COLUMN run_id text;

COMMENT ON COLUMN failed_items.run_id IS 'The run_id application property of the failed event, when it had one.';

-- `paysim verify RUN_ID` counts a run's failed items.
CREATE INDEX failed_items_run_id_idx ON failed_items (run_id) WHERE run_id IS NOT NULL;

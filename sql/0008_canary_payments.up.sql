-- 0008_canary_payments: the canaries `paysim health --probe` sends. A canary is a valid payment whose
-- run_id starts with 'paysim-canary:'; the pipeline records it here, in the batch's transaction, instead
-- of in the aggregates, the dedupe table or the run tables, so no metric or reconciliation counts it.
-- The primary key makes a redelivered canary a no-op, as the dedupe table does for payments.

CREATE TABLE canary_payments (
    transaction_id         uuid        NOT NULL,
    run_id                 text        NOT NULL,
    source_partition       text        NOT NULL,
    source_sequence_number bigint      NOT NULL,
    source_enqueued_time   timestamptz,
    event_time             timestamptz NOT NULL,
    committed_at           timestamptz NOT NULL DEFAULT statement_timestamp(),
    CONSTRAINT canary_payments_pkey PRIMARY KEY (transaction_id),
    CONSTRAINT canary_payments_run_id_check CHECK (run_id LIKE 'paysim-canary:%')
);

COMMENT ON TABLE canary_payments IS
    'Health-probe payments, one row per canary: committed_at minus the probe''s send time is the end-to-end time.';

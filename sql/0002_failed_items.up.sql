-- 0002_failed_items: the dead-letter table. Every event the pipeline cannot process lands here with
-- its raw bytes, so nothing is lost and `paysim dlq replay` can send it through the same processor.

CREATE TABLE failed_items (
    id                     bigint      GENERATED ALWAYS AS IDENTITY,
    raw_payload            bytea       NOT NULL,
    stage                  text        NOT NULL,
    error_code             text        NOT NULL,
    error_message          text        NOT NULL,
    source_partition       text,
    source_sequence_number bigint,
    source_offset          text,
    source_enqueued_time   timestamptz,
    transaction_id         uuid,
    attempts               integer     NOT NULL DEFAULT 1,
    status                 text        NOT NULL DEFAULT 'pending',
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT failed_items_pkey PRIMARY KEY (id),
    CONSTRAINT failed_items_status_check CHECK (status IN ('pending', 'replayed', 'discarded')),
    CONSTRAINT failed_items_attempts_check CHECK (attempts >= 1),
    CONSTRAINT failed_items_source_check CHECK ((source_partition IS NULL) = (source_sequence_number IS NULL))
);

COMMENT ON COLUMN failed_items.transaction_id IS 'The event''s transaction_id when it could be read, else NULL.';

-- One failed item per source event: a redelivered batch inserts ... ON CONFLICT DO NOTHING against this.
CREATE UNIQUE INDEX failed_items_source_key
    ON failed_items (source_partition, source_sequence_number)
    WHERE source_sequence_number IS NOT NULL;

-- `paysim dlq list` filters by status or error code and pages by time.
CREATE INDEX failed_items_status_created_at_idx ON failed_items (status, created_at);
CREATE INDEX failed_items_error_code_created_at_idx ON failed_items (error_code, created_at);
CREATE INDEX failed_items_created_at_idx ON failed_items (created_at);
CREATE INDEX failed_items_transaction_id_idx ON failed_items (transaction_id) WHERE transaction_id IS NOT NULL;

-- Replays and operators update rows by hand too: keep updated_at honest without trusting every writer.
CREATE FUNCTION paysim_touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER failed_items_touch_updated_at
    BEFORE UPDATE ON failed_items
    FOR EACH ROW EXECUTE FUNCTION paysim_touch_updated_at();

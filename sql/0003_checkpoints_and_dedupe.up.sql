-- 0003_checkpoints_and_dedupe: what makes at-least-once delivery count exactly once. The pipeline
-- commits, in one transaction per batch: the dedupe rows of the batch's new transaction ids, the
-- aggregates of only those events, and the partition's checkpoint.

CREATE TABLE partition_checkpoints (
    consumer_group       text        NOT NULL,
    partition_id         text        NOT NULL,
    last_sequence_number bigint      NOT NULL,
    last_offset          text,
    last_enqueued_time   timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT partition_checkpoints_pkey PRIMARY KEY (consumer_group, partition_id),
    CONSTRAINT partition_checkpoints_sequence_number_check CHECK (last_sequence_number >= 0)
);

-- Range-partitioned by event day so expiry drops a whole partition instead of deleting rows.
-- A primary key on a partitioned table must contain the partition key, so the dedupe key is
-- (transaction_id, event_day): a duplicate is caught when it carries the same event day. Duplicates
-- (producer retries, redelivered batches, replays) repeat the original event_time, so this is exact.
CREATE TABLE processed_transactions (
    transaction_id uuid        NOT NULL,
    event_day      date        NOT NULL,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT processed_transactions_pkey PRIMARY KEY (transaction_id, event_day)
) PARTITION BY RANGE (event_day);

COMMENT ON COLUMN processed_transactions.event_day IS 'The UTC date of the event''s event_time.';

-- Days with no partition of their own land here, so an insert never fails for want of a partition.
CREATE TABLE processed_transactions_default PARTITION OF processed_transactions DEFAULT;

-- Creates the day partitions processed_transactions_pYYYYMMDD for from_date .. from_date + days - 1
-- that do not exist yet, moving rows the default partition holds for those days; returns how many
-- it created. Idempotent; run it daily ahead of time (the pipeline's timer does).
CREATE FUNCTION paysim_ensure_dedupe_partitions(from_date date, days integer) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    partition_day date;
    partition_name text;
    created integer := 0;
BEGIN
    IF days < 0 THEN
        RAISE EXCEPTION 'days must be 0 or more, not %', days;
    END IF;
    -- Two callers at once would both try to create the same partition.
    PERFORM pg_advisory_xact_lock(hashtext('paysim_dedupe_partitions'));
    FOR day_number IN 0 .. days - 1 LOOP
        partition_day := from_date + day_number;
        partition_name := 'processed_transactions_p' || to_char(partition_day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(partition_name) IS NOT NULL;
        -- CREATE ... PARTITION OF would fail while the default partition holds rows of that day.
        EXECUTE format('CREATE TABLE %I (LIKE processed_transactions INCLUDING DEFAULTS)', partition_name);
        EXECUTE format(
            'WITH moved AS (DELETE FROM processed_transactions_default WHERE event_day = $1 RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved',
            partition_name
        ) USING partition_day;
        EXECUTE format(
            'ALTER TABLE processed_transactions ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
            partition_name, partition_day, partition_day + 1
        );
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;

-- Drops the day partitions before before_date and the default partition's rows older than it;
-- returns how many partitions it dropped. A duplicate arriving after its day is dropped is counted
-- again, so keep more days than the event hub retains and replays reach back.
CREATE FUNCTION paysim_drop_dedupe_partitions(before_date date) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    partition_name text;
    dropped integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('paysim_dedupe_partitions'));
    FOR partition_name IN
        SELECT child.relname
        FROM pg_inherits
        JOIN pg_class AS child ON child.oid = pg_inherits.inhrelid
        WHERE pg_inherits.inhparent = 'processed_transactions'::regclass
          AND child.relname ~ '^processed_transactions_p[0-9]{8}$'
          AND to_date(right(child.relname, 8), 'YYYYMMDD') < before_date
        ORDER BY child.relname
    LOOP
        EXECUTE format('DROP TABLE %I', partition_name);
        dropped := dropped + 1;
    END LOOP;
    DELETE FROM processed_transactions_default WHERE event_day < before_date;
    RETURN dropped;
END
$$;

-- Yesterday (UTC) and the next week, so a fresh database has day partitions from the start.
SELECT paysim_ensure_dedupe_partitions((now() AT TIME ZONE 'UTC')::date - 1, 9);

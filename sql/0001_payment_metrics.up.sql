-- 0001_payment_metrics: the aggregates the pipeline upserts additively, batch by batch, in the same
-- transaction as its checkpoints: five-minute payment metrics, their amount histograms, and
-- rule-derived dynamic metrics. Amounts are integers in minor units (cents), never floats.

CREATE TABLE payment_metrics_5m (
    window_start      timestamptz NOT NULL,
    payment_type      text        NOT NULL,
    currency          text        NOT NULL,
    merchant_category text        NOT NULL,
    channel           text        NOT NULL,
    status            text        NOT NULL,
    event_count       bigint      NOT NULL,
    amount_sum        bigint      NOT NULL,
    amount_min        bigint      NOT NULL,
    amount_max        bigint      NOT NULL,
    fraud_count       bigint      NOT NULL,
    first_event_time  timestamptz NOT NULL,
    last_event_time   timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payment_metrics_5m_pkey
        PRIMARY KEY (window_start, payment_type, currency, merchant_category, channel, status),
    CONSTRAINT payment_metrics_5m_window_aligned CHECK (mod(extract(epoch FROM window_start), 300) = 0),
    CONSTRAINT payment_metrics_5m_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT payment_metrics_5m_merchant_category_check CHECK (merchant_category ~ '^[0-9]{4}$'),
    CONSTRAINT payment_metrics_5m_counts_check CHECK (event_count > 0 AND fraud_count BETWEEN 0 AND event_count),
    CONSTRAINT payment_metrics_5m_amounts_check CHECK (amount_min <= amount_max),
    CONSTRAINT payment_metrics_5m_event_times_check CHECK (
        window_start <= first_event_time
        AND first_event_time <= last_event_time
        AND last_event_time < window_start + interval '5 minutes'
    )
);

COMMENT ON TABLE payment_metrics_5m IS
    'One row per 5-minute window (UTC, aligned) and dimension set; upserted additively by the pipeline.';

-- Amount histogram buckets, log2-scaled and fixed: bucket 0 counts amounts <= 0, bucket b in 1..38
-- counts amounts in [2^(b-1), 2^b - 1] minor units, bucket 39 counts amounts >= 2^38. The bucket of a
-- positive amount is its bit length, capped at 39 (Python: min(amount.bit_length(), 39)).
CREATE FUNCTION paysim_amount_bucket(amount bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN amount <= 0 THEN 0 ELSE least(39, length(ltrim(amount::bit(64)::text, '0'))) END;

-- Element-wise sum of two bucket arrays: what an additive upsert of a histogram needs.
CREATE FUNCTION paysim_add_bucket_counts(current_counts bigint[], added_counts bigint[]) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(
        SELECT current_count + added_count
        FROM unnest(current_counts, added_counts) WITH ORDINALITY AS pair (current_count, added_count, position)
        ORDER BY position
    );

-- The bucket bounds, inclusive, NULL for unbounded; array_index is the bucket's index in
-- aggregate_histograms.amount_bucket_counts (PostgreSQL arrays start at 1).
CREATE VIEW amount_histogram_buckets AS
SELECT
    bucket,
    bucket + 1 AS array_index,
    CASE WHEN bucket > 0 THEN 1::bigint << (bucket - 1) END AS lower_bound,
    CASE WHEN bucket = 0 THEN 0 WHEN bucket < 39 THEN (1::bigint << bucket) - 1 END AS upper_bound
FROM generate_series(0, 39) AS bucket;

CREATE TABLE aggregate_histograms (
    window_start         timestamptz NOT NULL,
    payment_type         text        NOT NULL,
    currency             text        NOT NULL,
    merchant_category    text        NOT NULL,
    channel              text        NOT NULL,
    status               text        NOT NULL,
    amount_bucket_counts bigint[]    NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT aggregate_histograms_pkey
        PRIMARY KEY (window_start, payment_type, currency, merchant_category, channel, status),
    CONSTRAINT aggregate_histograms_window_aligned CHECK (mod(extract(epoch FROM window_start), 300) = 0),
    CONSTRAINT aggregate_histograms_buckets_check CHECK (
        cardinality(amount_bucket_counts) = 40
        AND array_position(amount_bucket_counts, NULL) IS NULL
        AND 0 <= ALL (amount_bucket_counts)
    )
);

COMMENT ON TABLE aggregate_histograms IS
    'Amount histogram per payment_metrics_5m row (same key); buckets described by amount_histogram_buckets.';

CREATE TABLE dynamic_metrics (
    metric_name    text        NOT NULL,
    window_start   timestamptz NOT NULL,
    window_seconds integer     NOT NULL,
    dimensions     jsonb       NOT NULL DEFAULT '{}',
    value          numeric     NOT NULL,
    sample_count   bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dynamic_metrics_pkey PRIMARY KEY (metric_name, window_start, window_seconds, dimensions),
    CONSTRAINT dynamic_metrics_metric_name_check CHECK (metric_name ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT dynamic_metrics_window_seconds_check CHECK (window_seconds > 0),
    CONSTRAINT dynamic_metrics_window_aligned CHECK (mod(extract(epoch FROM window_start), window_seconds) = 0),
    CONSTRAINT dynamic_metrics_dimensions_check CHECK (jsonb_typeof(dimensions) = 'object'),
    CONSTRAINT dynamic_metrics_sample_count_check CHECK (sample_count > 0)
);

COMMENT ON TABLE dynamic_metrics IS
    'Rule-derived metrics; value is an additive sum over sample_count samples (mean = value / sample_count).';

-- "Everything in the last hour" reads across metric names, which the primary key cannot serve.
CREATE INDEX dynamic_metrics_window_start_idx ON dynamic_metrics (window_start);

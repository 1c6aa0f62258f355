-- 0004_merchant_clusters: the output of the merchant k-means job, one row per merchant and run, so
-- cluster membership can be compared across runs.

CREATE TABLE merchant_clusters (
    run_at      timestamptz NOT NULL,
    merchant_id text        NOT NULL,
    cluster_id  integer     NOT NULL,
    features    jsonb       NOT NULL,
    CONSTRAINT merchant_clusters_pkey PRIMARY KEY (run_at, merchant_id),
    CONSTRAINT merchant_clusters_cluster_id_check CHECK (cluster_id >= 0),
    CONSTRAINT merchant_clusters_features_check CHECK (jsonb_typeof(features) = 'object')
);

COMMENT ON COLUMN merchant_clusters.features IS 'The named feature values the run clustered on.';

-- "Which cluster is this merchant in now, and was it in before".
CREATE INDEX merchant_clusters_merchant_id_run_at_idx ON merchant_clusters (merchant_id, run_at DESC);

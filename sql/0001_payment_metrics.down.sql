-- Reverts 0001_payment_metrics.up.sql.
DROP TABLE dynamic_metrics;
DROP TABLE aggregate_histograms;
DROP VIEW amount_histogram_buckets;
DROP FUNCTION paysim_add_bucket_counts(bigint[], bigint[]);
DROP FUNCTION paysim_amount_bucket(bigint);
DROP TABLE payment_metrics_5m;

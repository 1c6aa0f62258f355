-- Reverts 0003_checkpoints_and_dedupe.up.sql (dropping the partitioned table drops every partition).
DROP FUNCTION paysim_drop_dedupe_partitions(date);
DROP FUNCTION paysim_ensure_dedupe_partitions(date, integer);
DROP TABLE processed_transactions;
DROP TABLE partition_checkpoints;

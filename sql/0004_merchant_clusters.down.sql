-- Reverts 0004_merchant_clusters.up.sql.
DROP TABLE merchant_clusters;

-- Reverts 0008_canary_payments.up.sql.
DROP TABLE canary_payments;

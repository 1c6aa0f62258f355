-- Reverts 0002_failed_items.up.sql (dropping the table drops its indexes and trigger).
DROP TABLE failed_items;
DROP FUNCTION paysim_touch_updated_at();

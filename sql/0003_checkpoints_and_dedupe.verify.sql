-- processed_transactions is range-partitioned by event_day, keyed on (transaction_id, event_day),
-- and has its default partition.
SELECT (SELECT partstrat = 'r' FROM pg_partitioned_table
        WHERE partrelid = 'processed_transactions'::regclass)
   AND (SELECT array_agg(attribute.attname::text ORDER BY attribute.attname)
        FROM pg_index
        JOIN pg_attribute AS attribute
          ON attribute.attrelid = pg_index.indrelid AND attribute.attnum = ANY (pg_index.indkey)
        WHERE pg_index.indrelid = 'processed_transactions'::regclass AND pg_index.indisprimary)
       = ARRAY['event_day', 'transaction_id']
   AND EXISTS (SELECT 1 FROM pg_partitioned_table
               WHERE partrelid = 'processed_transactions'::regclass
                 AND partdefid = 'processed_transactions_default'::regclass);

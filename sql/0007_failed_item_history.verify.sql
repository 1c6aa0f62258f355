-- The history cascades with its item (purge deletes both), and every row's outcome fits its action.
SELECT (SELECT confdeltype = 'c' FROM pg_constraint
        WHERE conname = 'failed_item_history_failed_item_id_fkey'
          AND confrelid = 'failed_items'::regclass)
   AND NOT EXISTS (
       SELECT 1 FROM failed_item_history
       WHERE (action = 'replay') <> (outcome IN ('processed', 'duplicate', 'failed', 'published'))
   );

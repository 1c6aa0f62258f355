-- Every history row belongs to a stored item (there is no foreign key: purge deletes both), and its
-- outcome fits its action.
SELECT NOT EXISTS (
           SELECT 1 FROM failed_item_history AS h
           WHERE NOT EXISTS (SELECT 1 FROM failed_items AS f WHERE f.id = h.failed_item_id)
       )
   AND NOT EXISTS (
       SELECT 1 FROM failed_item_history
       WHERE (action = 'replay') <> (outcome IN ('processed', 'duplicate', 'failed', 'published'))
   );

-- Every failed item has one state row, with its status and error code, and no state row is left over.
SELECT NOT EXISTS (
           SELECT 1
           FROM failed_items AS f FULL JOIN failed_item_states AS s ON s.item_id = f.id
           WHERE f.id IS NULL OR s.item_id IS NULL OR s.state <> f.status OR s.code <> f.error_code
       )
   AND (SELECT count(*) FROM failed_item_states) = (SELECT count(*) FROM failed_items);

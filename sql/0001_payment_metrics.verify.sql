-- The histogram helpers agree with the documented bucket scheme at its edges.
SELECT paysim_amount_bucket(-5) = 0
   AND paysim_amount_bucket(0) = 0
   AND paysim_amount_bucket(1) = 1
   AND paysim_amount_bucket(2) = 2
   AND paysim_amount_bucket(3) = 2
   AND paysim_amount_bucket(1024) = 11
   AND paysim_amount_bucket(274877906943) = 38
   AND paysim_amount_bucket(274877906944) = 39
   AND paysim_amount_bucket(9223372036854775807) = 39
   AND paysim_add_bucket_counts(ARRAY[1, 2, 3]::bigint[], ARRAY[10, 20, 30]::bigint[]) = ARRAY[11, 22, 33]::bigint[]
   AND (SELECT count(*) = 40
               AND bool_and(paysim_amount_bucket(coalesce(lower_bound, 0)) = bucket)
               AND bool_and(paysim_amount_bucket(coalesce(upper_bound, 9223372036854775807)) = bucket)
        FROM amount_histogram_buckets);

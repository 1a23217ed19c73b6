-- end: 100
-- The variance family over a bounded run: final rows only.
CREATE TABLE orders (category STRING, region STRING, total DOUBLE, qty BIGINT)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT category, STDDEV_POP(total) AS sd, VAR_POP(total) AS vp, VAR_SAMP(total) AS vs,
       VAR_POP(qty) AS vp_int, STDDEV_SAMP(qty) AS sd_int
FROM orders GROUP BY category;

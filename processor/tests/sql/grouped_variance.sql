-- STDDEV_POP / VAR_POP / VAR_SAMP as Flink's planner reduces them (BIGINT stays BIGINT); MAX of
-- a group that does not change emits nothing.
CREATE TABLE orders (category STRING, region STRING, total DOUBLE, qty BIGINT)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT category, MAX(qty) AS max_qty FROM orders GROUP BY category;

-- SELECT DISTINCT emits a row the first time it is seen; a non-windowed GROUP BY emits only when
-- its aggregates change (Flink's GroupAggFunction); STDDEV_POP / VAR_POP as Flink reduces them.
CREATE TABLE orders (category STRING, region STRING, total DOUBLE, qty BIGINT)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT DISTINCT category, region FROM orders;

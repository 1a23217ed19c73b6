-- SELECT DISTINCT is an updating table in Flink: its final rows, with a NULL in a key.
CREATE TABLE orders (category STRING, region STRING, total DOUBLE)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT DISTINCT category, region
FROM orders
WHERE total > 1;

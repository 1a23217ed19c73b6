-- A GROUP BY without a window is an updating table: compare the final table (kappa: its upsert
-- stream applied, live and bounded),
-- including a HAVING that drops a key again and a key that is NULL.
CREATE TABLE orders (category STRING, user_id STRING, total DOUBLE, qty BIGINT)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT category, COUNT(*) AS n, SUM(total) AS revenue, MIN(total) AS lo, MAX(total) AS hi,
       AVG(qty) AS avg_qty, COUNT(DISTINCT user_id) AS users
FROM orders
GROUP BY category
HAVING SUM(total) < 100;

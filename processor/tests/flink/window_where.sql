-- WHERE before a window: a record filtered out still advances the watermark (Flink assigns
-- watermarks at the source), so a later record for the old window is late. GROUP BY an
-- expression.
CREATE TABLE orders (status STRING, category STRING, total DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '10' SECOND) AS w, LOWER(category) AS cat, COUNT(*) AS n,
       SUM(total) AS revenue
FROM orders
WHERE status = 'ok'
GROUP BY TUMBLE(ts, INTERVAL '10' SECOND), LOWER(category);

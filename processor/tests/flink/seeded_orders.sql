-- The seed's tumbling query over 600 generated orders (out of order within 8 s, 2 % late by
-- 90 s), plus COUNT(DISTINCT), MIN and MAX.
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '10' SECOND) AS window_start,
       TUMBLE_END(ts, INTERVAL '10' SECOND) AS window_end, category,
       SUM(total) AS revenue, COUNT(*) AS order_count, AVG(total) AS avg_order_value,
       COUNT(DISTINCT user_id) AS customers, MIN(total) AS lo, MAX(total) AS hi
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '10' SECOND), category;

-- Hopping windows (30 s every 10 s) over the 600 generated orders on 3 partitions.
-- input: seeded_orders_3p
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT HOP_START(ts, INTERVAL '10' SECOND, INTERVAL '30' SECOND) AS ws, category,
       COUNT(*) AS n, SUM(total) AS revenue, MAX(total) AS hi
FROM orders
GROUP BY HOP(ts, INTERVAL '10' SECOND, INTERVAL '30' SECOND), category;

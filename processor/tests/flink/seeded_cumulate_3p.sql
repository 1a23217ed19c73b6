-- The cumulating window TVF (20 s steps of a 1-minute window) over the 600 generated orders on
-- 3 partitions.
-- input: seeded_orders_3p
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT window_start, window_end, category, COUNT(*) AS n, SUM(total) AS revenue,
       COUNT(DISTINCT user_id) AS customers
FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ts), INTERVAL '20' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, category;

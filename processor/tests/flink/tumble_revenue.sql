-- The seed's tumbling revenue query as written; out-of-order events within the 5 s bound,
-- and late events (Flink drops them, kappa sends them to .late: only main rows compared).
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, category,
       SUM(total) AS revenue, COUNT(*) AS order_count, AVG(total) AS avg_order_value
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), category;

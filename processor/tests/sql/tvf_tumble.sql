-- The seed's tumbling query as Flink's docs now write it: a window table function grouped by
-- window_start, window_end. Same rows as tumble_revenue (the legacy GROUP BY TUMBLE form).
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

SELECT window_start, category,
       SUM(total) AS revenue, COUNT(*) AS order_count, AVG(total) AS avg_order_value
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, category;

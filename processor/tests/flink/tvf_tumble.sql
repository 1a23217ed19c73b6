-- The tumbling window table function, as Flink's docs write it, with window_start,
-- window_end and window_time; out-of-order and late events.
CREATE TABLE orders (
  order_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT window_start, window_end, window_time, category, SUM(total) AS revenue,
       COUNT(*) AS order_count
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, window_time, category;

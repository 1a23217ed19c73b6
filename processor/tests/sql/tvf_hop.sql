-- HOP as a window table function: 2-minute windows every minute.
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

SELECT window_start, window_end, category, COUNT(*) AS n
FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '2' MINUTE))
GROUP BY window_start, window_end, category;

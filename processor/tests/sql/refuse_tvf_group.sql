-- A window table function is aggregated by window_start, window_end.
CREATE TABLE orders (total DOUBLE, category STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT category, SUM(total) AS revenue
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY category;

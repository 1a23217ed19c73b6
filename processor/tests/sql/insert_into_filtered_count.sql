-- The seed's Kafka Streams job in SQL: completed orders counted per category in 1-minute
-- tumbling windows with no grace, written to a named topic.
CREATE TABLE orders (status STRING, category STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
INSERT INTO category_counts
SELECT category, COUNT(*) AS order_count, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start
FROM orders WHERE status = 'completed'
GROUP BY category, TUMBLE(ts, INTERVAL '1' MINUTE);

-- The seed's Kafka Streams topology: completed orders counted per category per minute,
-- written to the topic category-counts-output.
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

INSERT INTO `category-counts-output`
SELECT category, COUNT(*) AS `count`, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start
FROM orders
WHERE status = 'completed'
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), category;

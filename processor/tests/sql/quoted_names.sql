-- Quoted names wherever a topic is named (issue 9): the seed's Kafka Streams job writes to
-- `category-counts-output`; backticks and double quotes both quote an identifier, as in Flink.
CREATE TABLE `orders` (status STRING, category STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
INSERT INTO `category-counts-output`
SELECT "category", COUNT(*) AS order_count, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start
FROM "orders" WHERE status = 'completed'
GROUP BY category, TUMBLE(ts, INTERVAL '1' MINUTE);

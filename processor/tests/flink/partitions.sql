-- Three input partitions with a watermark each (Flink's Kafka source: one split per partition,
-- the watermark the minimum over the splits): an event behind the other partitions is on time
-- as long as it is on time within its own partition.
CREATE TABLE orders (
  order_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, category,
       SUM(total) AS revenue, COUNT(*) AS order_count
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), category;

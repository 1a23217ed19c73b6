-- A partition whose first record comes after the others have moved on. kappa counts a
-- partition with no record yet as idle (log-time idleness, DESIGN.md section 3); Flink's Kafka
-- source holds the watermark until every partition has one (without idleness; with
-- 'scan.watermark.idle-timeout' it depends on the wall clock). A difference by design.
CREATE TABLE orders (order_id STRING, total DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, SUM(total) AS revenue,
       COUNT(*) AS order_count
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE);

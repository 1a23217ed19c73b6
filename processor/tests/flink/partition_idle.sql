-- A partition that stops receiving records goes idle in kappa after the idle timeout in log
-- time ('scan.watermark.idle-timeout', 10 s by default), and the others' watermark moves on;
-- Flink's Kafka source without idleness keeps waiting for it (with idleness, the timeout is
-- wall-clock time). A difference by design.
CREATE TABLE orders (order_id STRING, total DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, SUM(total) AS revenue,
       COUNT(*) AS order_count
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE);

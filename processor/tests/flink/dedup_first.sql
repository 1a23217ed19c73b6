-- Deduplication keeping the first row per order id, as Flink writes it: ORDER BY the event
-- time attribute ASC, rn = 1 (issue 14). Flink's event-time deduplication replaces the kept
-- row when a row with an earlier event time arrives, so the result is updating.
CREATE TABLE orders (
  order_id STRING, status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');

SELECT order_id, status, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY ts ASC) AS rn FROM orders
) WHERE rn = 1;

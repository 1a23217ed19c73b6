-- Deduplication keeping the last row per order id: ORDER BY the event time attribute DESC,
-- rn = 1 (issue 14), rn selected. An updating table keyed by order_id.
-- input: dedup_first
CREATE TABLE orders (
  order_id STRING, status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');

SELECT * FROM (
  SELECT order_id, status, ts, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY ts DESC) AS rn
  FROM orders
) o WHERE o.rn = 1;

-- Deduplication keeping the last row per order (issue 14): an updating table keyed by
-- order_id; a later row with the same event time replaces the kept one (as Flink's).
-- rn is not selected.
CREATE TABLE orders (order_id STRING, status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT order_id, status FROM (
  SELECT order_id, status, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY ts DESC) AS rn
  FROM orders
) WHERE rn = 1;

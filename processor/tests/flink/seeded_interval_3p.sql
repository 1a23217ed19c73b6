-- input: seeded_joins_3p
-- Order -> payment on generated data: each order (3 partitions, out of order within 8 s)
-- meets its payments
-- made within 20 s after it; unpaid orders are emitted with NULLs once no payment can match.
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '10' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
CREATE TABLE payments (
  order_id STRING, `method` STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'payments', 'format' = 'json');
SELECT o.order_id, o.total, p.`method`, o.ts AS ordered, CAST(p.ts AS TIMESTAMP(3)) AS paid
FROM orders o LEFT JOIN payments p
  ON o.order_id = p.order_id AND p.ts BETWEEN o.ts AND o.ts + INTERVAL '20' SECOND;

-- input: seeded_joins_3p
-- Enrichment on generated data: 588 orders over 3 partitions (out of order within 8 s; the
-- watermark allows 10 s)
-- meet the discount of their category valid at the order's time (a versioned table).
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '10' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
CREATE TABLE rates (
  category STRING, discount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (category) NOT ENFORCED
) WITH ('connector' = 'kappa', 'topic' = 'category-rates', 'format' = 'json');
SELECT o.order_id, o.category, o.total, r.discount,
       ROUND(o.total * (1 - r.discount), 2) AS net, o.ts
FROM orders AS o
LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.category = r.category;

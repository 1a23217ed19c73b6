-- Enrichment with reference data (an event-time temporal join): each order meets the discount
-- of its category that was valid at the order's time. category-discounts is a versioned table:
-- its records are versions of their category (a record with an empty value would delete one).
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

CREATE TABLE discounts (
  category STRING, discount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts,
  PRIMARY KEY (category) NOT ENFORCED
) WITH ('connector' = 'kappa', 'topic' = 'category-discounts', 'format' = 'json');

SELECT o.order_id, o.category, o.total, d.discount,
       ROUND(o.total * (1 - d.discount), 2) AS net, o.ts
FROM orders AS o
JOIN discounts FOR SYSTEM_TIME AS OF o.ts AS d ON o.category = d.category
WHERE o.status = 'completed';

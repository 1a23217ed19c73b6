-- Session windows per user (5 s gap) over the 600 generated orders: many sessions that grow,
-- merge out of order and are late.
-- input: seeded_orders
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT user_id, SESSION_START(ts, INTERVAL '5' SECOND) AS s, SESSION_END(ts, INTERVAL '5' SECOND) AS e,
       COUNT(*) AS n, SUM(total) AS spent
FROM orders
GROUP BY SESSION(ts, INTERVAL '5' SECOND), user_id;

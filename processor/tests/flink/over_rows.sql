-- OVER with a ROWS frame: each order with its user's last three orders (itself and the two
-- before, in event time; rows at equal times in arrival order, each with its own frame).
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '3' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT order_id, user_id, total,
       SUM(total) OVER (PARTITION BY user_id ORDER BY ts
         ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS sum3,
       AVG(total) OVER (PARTITION BY user_id ORDER BY ts
         ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS avg3,
       MIN(total) OVER (PARTITION BY user_id ORDER BY ts
         ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS min3,
       MAX(total) OVER (PARTITION BY user_id ORDER BY ts
         ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS max3,
       COUNT(total) OVER (PARTITION BY user_id ORDER BY ts
         ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS n3,
       COUNT(DISTINCT total) OVER (PARTITION BY user_id ORDER BY ts
         ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS distinct3
FROM orders;

-- OVER aggregations as Flink writes them: a rolling 2-minute average per category (RANGE: rows
-- with equal times are peers). A row is emitted when the watermark reaches it; one arriving
-- after its partition has processed a row at or after its time is late (Flink's rule).
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT order_id, category, total,
       AVG(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '2' MINUTE PRECEDING AND CURRENT ROW) AS avg_2m,
       COUNT(*) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '2' MINUTE PRECEDING AND CURRENT ROW) AS n_2m
FROM orders;

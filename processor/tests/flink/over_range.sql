-- OVER with a RANGE frame, as Flink writes it: per category, the rows of the last minute of
-- event time up to the current row; rows with equal times are peers and get the same
-- aggregates. AVG of BIGINT truncates (Flink's typing); late rows are dropped.
CREATE TABLE orders (
  order_id STRING, category STRING, total DOUBLE, qty BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT order_id, category, total, ts,
       AVG(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS avg_total,
       SUM(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS sum_total,
       SUM(qty) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS sum_qty,
       AVG(qty) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS avg_qty,
       COUNT(*) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS n,
       COUNT(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS n_total,
       MIN(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS min_total,
       MAX(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS max_total
FROM orders;

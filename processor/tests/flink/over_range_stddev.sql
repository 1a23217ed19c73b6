-- STDDEV_POP over a RANGE frame. A known difference: Flink retracts rows leaving the frame by
-- plain subtraction, so its sums drift (a one-row frame of 213.21 sums to 213.2100000000001)
-- and the variance of a one-row frame comes out a hair below zero: its square root is NaN.
-- kappa's compensated sums give 0.0, the exact answer.
-- input: over_range
CREATE TABLE orders (
  order_id STRING, category STRING, total DOUBLE, qty BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT order_id, category,
       STDDEV_POP(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS sd_total,
       VAR_POP(qty) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS var_qty
FROM orders;

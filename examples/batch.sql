-- The seed's nightly Spark/dbt job: completed orders of one day per category and region.
-- Run it as a bounded batch over event time:
--   kappa processors create daily --sql-file examples/batch.sql --from 2026-03-25 --to 2026-03-26
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, region STRING,
  status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

SELECT category, region, SUM(total) AS revenue, COUNT(*) AS order_count,
       ROUND(SUM(total) / COUNT(*), 2) AS avg_order_value,
       COUNT(DISTINCT user_id) AS unique_customers
FROM orders WHERE status = 'completed'
GROUP BY category, region ORDER BY revenue DESC;

-- The seed's dbt incremental model (daily_revenue.sql): one row per day, region and category.
-- Each run is a bounded batch over one day of event time; the next day is the next run:
--   kappa processors create daily-model --sql-file examples/daily_model.sql --from 2026-03-25 --to 2026-03-26
--   kappa replay daily-model --from 2026-03-26 --to 2026-03-27
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, region STRING,
  status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

SELECT DATE(ts) AS order_date, region, category,
       COUNT(*) AS order_count, SUM(total) AS revenue, AVG(total) AS avg_order_value,
       COUNT(DISTINCT user_id) AS unique_customers
FROM orders
WHERE status = 'completed'
GROUP BY 1, 2, 3;

-- The seed's nightly batch job: kappa runs it as a bounded run, Flink in batch mode
-- (ORDER BY a non-time column is a batch-only query in Flink).
-- flink: batch
CREATE TABLE orders (category STRING, region STRING, total DOUBLE, user_id STRING, status STRING)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT category, region, SUM(total) AS revenue, COUNT(*) AS order_count,
       ROUND(SUM(total) / COUNT(*), 2) AS avg_order_value,
       COUNT(DISTINCT user_id) AS unique_customers
FROM orders WHERE status = 'completed'
GROUP BY category, region ORDER BY revenue DESC;

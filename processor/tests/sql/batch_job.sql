-- The seed's nightly batch job as a bounded run (event time, here the record timestamp, < 100):
-- final rows only, in ORDER BY order.
-- end: 100
SELECT category, region, SUM(total) AS revenue, COUNT(*) AS order_count,
       ROUND(SUM(total) / COUNT(*), 2) AS avg_order_value,
       COUNT(DISTINCT user_id) AS unique_customers
FROM orders WHERE status = 'completed'
GROUP BY category, region ORDER BY revenue DESC;

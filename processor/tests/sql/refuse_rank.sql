-- RANK() is not supported: Top-N ranks with ROW_NUMBER() (issue 14).
SELECT * FROM (SELECT order_id, RANK() OVER (PARTITION BY category ORDER BY total DESC) AS r FROM orders) WHERE r <= 3;

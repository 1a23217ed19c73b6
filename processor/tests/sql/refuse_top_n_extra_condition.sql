-- Other conditions beside rn <= N go in the subquery (issue 14).
SELECT * FROM (SELECT order_id, ROW_NUMBER() OVER (PARTITION BY category ORDER BY total DESC) AS rn FROM orders) WHERE rn <= 3 AND order_id <> 'a';

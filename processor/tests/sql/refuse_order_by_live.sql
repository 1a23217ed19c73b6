SELECT category, COUNT(*) AS n FROM orders GROUP BY category ORDER BY n DESC;

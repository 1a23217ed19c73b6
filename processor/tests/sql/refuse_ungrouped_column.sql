SELECT category, total FROM orders GROUP BY category;

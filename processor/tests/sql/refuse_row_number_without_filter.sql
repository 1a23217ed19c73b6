-- ROW_NUMBER outside the Top-N form is refused at its position (issue 14).
SELECT order_id, ROW_NUMBER() OVER (PARTITION BY category ORDER BY total DESC) AS rn FROM orders;

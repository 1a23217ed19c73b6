-- Only rn <= N, rn < N and rn = 1 select a Top-N (issue 14).
SELECT * FROM (SELECT order_id, ROW_NUMBER() OVER (PARTITION BY category ORDER BY total DESC) AS rn FROM orders) WHERE rn > 3;
